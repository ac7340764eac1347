/**
 * What the genome exchange needs from the mesh: the publish/subscribe part of the rooms'
 * RoomTransport (the node's SwitchableTransport fits as is, so the exchange exists before the
 * network). Pieces go with `priority: 'bulk'` on `/genome/piece/{nodeId}`.
 */
import type { RoomTransport } from '../rooms/transport';

export type GenomeTransport = Pick<RoomTransport, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown' | 'upPeers'>;
