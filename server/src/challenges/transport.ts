/**
 * What challenges need from the mesh: the publish/subscribe part of the rooms' RoomTransport, like
 * the academy's (a SwitchableTransport or MemoryTransport fits as is). Messages for one node go on
 * `/challenges/node/{nodeId}`, a topic only that node subscribes to.
 */
import type { RoomTransport } from '../rooms/transport';

export type ChallengeTransport = Pick<RoomTransport, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown' | 'upPeers'>;
