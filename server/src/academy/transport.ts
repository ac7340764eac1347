/**
 * What the academy needs from the mesh: the publish/subscribe part of the rooms' RoomTransport
 * (a SwitchableTransport or MemoryTransport fits as is). Messages for one node go on
 * `/academy/sync/{nodeId}`, a topic only that node subscribes to, so the rooms' direct channel is
 * left to the rooms.
 */
import type { RoomTransport } from '../rooms/transport';

export type AcademyTransport = Pick<RoomTransport, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown' | 'upPeers'>;
