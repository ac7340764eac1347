/**
 * What the genome exchange needs from the mesh: the publish/subscribe part of the rooms'
 * MeshPort (the node's SwitchableMeshPort fits as is, so the exchange exists before the
 * network). Pieces go with `priority: 'bulk'` on `/genome/piece/{nodeId}`.
 */
import type { MeshPort } from '../kernel/meshPort';

export type GenomeTransport = Pick<MeshPort, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown' | 'upPeers'>;
