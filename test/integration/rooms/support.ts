/** Rooms on real MeshNetwork instances on loopback, each with its own data dir (libsql file). */
import { loadOrCreateIdentity, type Identity } from '../../../server/src/kernel/identity';
import { MemoryLog } from '../../../server/src/kernel/log';
import { MeshNetwork } from '../../../server/src/net/meshNetwork';
import { NetworkMeshPort } from '../../../server/src/node/networkPort';
import { Rooms, type RoomsOptions } from '../../../server/src/rooms/rooms';
import { identityAuthenticator } from '../../../server/src/rooms/signing';
import { SwitchableMeshPort } from '../../../server/src/kernel/switchablePort';
import { Store } from '../../../server/src/store/database';
import { roomLimits, type ChatMessage } from '../../../protocol/rooms';
import { scaledInboundLimits } from '../../../server/src/net/inboundLimits';
import { testMeshKey } from '../net/support/meshHarness';

export class RoomsNode {
  mesh: MeshNetwork | undefined;
  readonly log = new MemoryLog();
  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly identity: Identity,
    readonly store: Store,
    readonly transport: SwitchableMeshPort,
    readonly rooms: Rooms,
    private readonly messagesPerMinute: number,
  ) {}

  static async start(name: string, dir: string, options: Partial<RoomsOptions> = {}): Promise<RoomsNode> {
    const log = new MemoryLog();
    const { identity } = loadOrCreateIdentity(dir, log.logger);
    const store = new Store(dir, log.logger);
    await store.start();
    const transport = new SwitchableMeshPort(identity.nodeId);
    const rooms = new Rooms({ store, transport, displayName: name, logger: log.logger, sync: { intervalMs: 2000 }, authenticator: identityAuthenticator(identity), ...options });
    await rooms.start();
    return new RoomsNode(name, dir, identity, store, transport, rooms, options.maxMessagesPerMinute ?? roomLimits.maxMessagesPerMinute);
  }

  get nodeId(): string {
    return this.identity.nodeId;
  }

  get address(): string {
    if (!this.mesh) throw new Error(`${this.name} is not connected`);
    return this.mesh.listenAddress;
  }

  /** Starts a network for this node (static peers only, loopback) and attaches rooms to it. */
  async connect(staticPeers: string[] = []): Promise<void> {
    const mesh = new MeshNetwork({
      identity: this.identity,
      meshKey: testMeshKey,
      name: this.name,
      listen: { host: '127.0.0.1', port: 0 },
      discovery: false,
      staticPeers,
      logger: this.log.logger,
      tuning: { inboundLimits: scaledInboundLimits(this.messagesPerMinute / roomLimits.maxMessagesPerMinute) },
    });
    await mesh.start();
    this.mesh = mesh;
    this.transport.attach(new NetworkMeshPort(mesh));
  }

  /** Cuts every session of this node (its network stops); rooms keep running. */
  async disconnect(): Promise<void> {
    this.transport.detach();
    await this.mesh?.stop();
    this.mesh = undefined;
  }

  async stop(): Promise<void> {
    await this.disconnect();
    await this.rooms.stop();
    await this.store.stop();
  }

  history(roomId = 'general'): ChatMessage[] {
    const pages: ChatMessage[][] = [];
    let page = this.rooms.history({ roomId, limit: 200 });
    pages.unshift(page.messages);
    while (page.hasMore) {
      page = this.rooms.history({ roomId, limit: 200, before: page.messages[0]!.id });
      pages.unshift(page.messages);
    }
    return pages.flat();
  }
}

export { waitFor } from '../net/support/meshHarness';
