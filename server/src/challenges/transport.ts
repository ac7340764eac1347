/**
 * What challenges need from the mesh: the publish/subscribe part of the node's MeshPort, like
 * the academy's (a SwitchableMeshPort or MemoryMeshPort fits as is). Messages for one node go on
 * `/challenges/node/{nodeId}`, a topic only that node subscribes to.
 */
import type { MeshPort } from '../kernel/meshPort';

export type ChallengeTransport = Pick<MeshPort, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown' | 'upPeers'>;
