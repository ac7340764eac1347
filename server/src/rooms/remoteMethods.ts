/**
 * Remote commands of rooms, for peers (allowed by default, see `defaultAllowedMethods`):
 * `rooms.list` → the rooms this node knows, without participants.
 */
import type { MeshNetwork } from '../net/meshNetwork';
import type { Rooms } from './rooms';

export interface RemoteRoomInfo {
  id: string;
  name: string;
  joined: boolean;
  messageCount: number;
  lastActivity?: number;
}

export function registerRoomRemoteMethods(mesh: Pick<MeshNetwork, 'registerMethod'>, rooms: Pick<Rooms, 'list'>): void {
  mesh.registerMethod(
    'rooms.list',
    (): RemoteRoomInfo[] =>
      rooms.list().map(({ id, name, joined, messageCount, lastActivity }) => (lastActivity === undefined ? { id, name, joined, messageCount } : { id, name, joined, messageCount, lastActivity })),
    { idempotent: true },
  );
}
