/** Test support for the academy: signed signals, and nodes with Rooms and an Academy on an in-memory mesh. */
import { Academy, type AcademyOptions } from '../../../server/src/academy/academy';
import { signalAuthenticator } from '../../../server/src/academy/signing';
import { generateIdentity, type Identity } from '../../../server/src/kernel/identity';
import { MemoryLog } from '../../../server/src/kernel/log';
import type { PersonaRef, Signal, UnsignedSignal } from '../../../protocol/academy';
import type { ChatMessage } from '../../../protocol/rooms';
import { MemoryHub, type MemoryMeshPort } from '../../support/memoryMeshPort';
import { Rooms } from '../../../server/src/rooms/rooms';
import type { LocalParticipant } from '../../../protocol/rooms';
import { identityAuthenticator } from '../../../server/src/rooms/signing';
import type { Db } from '../../../server/src/store/database';
import { ManualClock } from '../../support/manualClock';
import { memoryDb } from '../rooms/support';

export { memoryDb, ManualClock };

export const persona = (nodeId: string, personaId: string, name = personaId): PersonaRef => ({ nodeId, personaId, name });

/** A signed signal with defaults for every field the test does not care about. */
export function signed(identity: Identity, fields: Partial<Omit<UnsignedSignal, 'id' | 'signer'>> & { persona: PersonaRef }): Signal {
  return signalAuthenticator(identity).sign({
    room: 'general',
    category: 'technical',
    value: 1,
    source: 'thumbs',
    context: { input: 'q' },
    ts: 1_800_000_000_000,
    ...fields,
  });
}

export interface AcademyNode {
  id: string;
  identity: Identity;
  rooms: Rooms;
  academy: Academy;
  db: Db;
  transport: MemoryMeshPort;
  log: MemoryLog;
}

/** Nodes with Rooms and an Academy on an in-memory mesh with manual delivery and a manual clock. */
export class AcademyMesh {
  readonly hub = new MemoryHub();
  readonly clock = new ManualClock();
  readonly nodes = new Map<string, AcademyNode>();

  async add(db: Db = memoryDb(), identity: Identity = generateIdentity().identity, extra: Partial<AcademyOptions> = {}): Promise<AcademyNode> {
    const id = identity.nodeId;
    const transport = this.hub.attach(id);
    const log = new MemoryLog();
    const rooms = new Rooms({ store: { db }, transport, displayName: `${id.slice(0, 4)}-human`, clock: this.clock, logger: log.logger, sync: { intervalMs: 0 }, authenticator: identityAuthenticator(identity) });
    await rooms.start();
    const academy = new Academy({ store: { db }, transport, identity, rooms, clock: this.clock, logger: log.logger, sync: { intervalMs: 0 }, ...extra });
    await academy.start();
    const node = { id, identity, rooms, academy, db, transport, log };
    this.nodes.set(id, node);
    return node;
  }

  /** Stops a node's components and takes it off the mesh (its database stays). */
  async remove(node: AcademyNode): Promise<void> {
    await node.academy.stop();
    await node.rooms.stop();
    this.hub.detach(node.id);
    this.nodes.delete(node.id);
  }

  settle(): void {
    for (let round = 0; round < 100; round++) {
      this.hub.flush();
      this.clock.advance(1000);
      if (this.hub.pending === 0) return;
    }
    throw new Error('the mesh did not settle');
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      await node.academy.stop();
      await node.rooms.stop();
      node.db.close();
    }
    this.nodes.clear();
    this.hub.close();
  }
}

/** A human question and a persona's reply to it, posted on `node`. */
export function exchange(node: AcademyNode, question: string, answer: string, as: LocalParticipant = { participantId: 'helper', displayName: 'Helper', kind: 'persona' }): { prompt: ChatMessage; reply: ChatMessage } {
  node.rooms.join('general', as);
  const prompt = node.rooms.send({ roomId: 'general', text: question });
  const reply = node.rooms.send({ roomId: 'general', text: answer, replyTo: prompt.id, metadata: { persona: { id: as.participantId, chain: 1 } } }, as);
  return { prompt, reply };
}
