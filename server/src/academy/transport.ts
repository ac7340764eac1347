/**
 * What the academy needs from the mesh: the publish/subscribe part of the node's MeshPort
 * (a SwitchableMeshPort or MemoryMeshPort fits as is). Messages for one node go on
 * `/academy/sync/{nodeId}`, a topic only that node subscribes to, so the rooms' direct channel is
 * left to the rooms.
 */
import type { MeshPort } from '../kernel/meshPort';

export type AcademyTransport = Pick<MeshPort, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown' | 'upPeers'>;
