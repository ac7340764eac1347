/**
 * Every persona on the mesh: this node's (from the registry) and the ones other nodes announce.
 * Each node publishes its personas on `/presence/personas` (fast lane, lossy) when they change,
 * when a peer comes up and every `intervalMs`; receivers drop a node's personas after `ttlMs`
 * without a refresh, or when its session goes down. Announcements are checked and bounded.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../kernel/clock';
import type { Component } from '../kernel/lifecycle';
import { silentLogger, type Logger } from '../kernel/log';
import { brainProviders, type PersonaState, type PersonaSummary } from '../../../protocol/personas';
import { refreshIntervalMs } from '../kernel/refreshInterval';
import type { MeshPort, PortMessage } from '../kernel/meshPort';
import type { PersonaRegistry } from './registry';
import { personaIdPattern } from './schema';

export const personaTopic = '/presence/personas';

export interface PersonaAnnouncement {
  nodeId: string;
  personas: PersonaSummary[];
  ttlMs: number;
}

export interface PersonaDirectoryOptions {
  transport: Pick<MeshPort, 'localNodeId' | 'publish' | 'sendTo' | 'subscribe' | 'onPeerUp' | 'onPeerDown'>;
  registry: Pick<PersonaRegistry, 'summaries' | 'on' | 'off'>;
  clock?: Clock;
  logger?: Logger;
  /** Default 10 s; receivers expire after 3.5 periods. */
  intervalMs?: number;
}

export interface PersonaDirectoryEvents {
  changed: [PersonaSummary[]];
}

const limits = { personasPerNode: 100, text: 200, list: 50 };
const states: readonly PersonaState[] = ['online', 'busy', 'degraded', 'disabled'];

export class PersonaDirectory extends EventEmitter<PersonaDirectoryEvents> implements Component {
  readonly name = 'persona-directory';
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly remote = new Map<string, { personas: PersonaSummary[]; expires: number }>();
  private readonly unsubscribe: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private nextAnnounceAt = 0;
  /** The last announcement to every node said "no personas": nothing to refresh until that changes. */
  private announcedNone = false;
  private readonly onLocal = () => {
    this.announce();
    this.emitChanged();
  };

  constructor(private readonly options: PersonaDirectoryOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child('persona-directory');
    this.intervalMs = options.intervalMs ?? 10_000;
  }

  start(): Promise<void> {
    const t = this.options.transport;
    this.unsubscribe.push(
      t.subscribe(personaTopic, (message) => this.receive(message)),
      // A new neighbour hears our personas at once; the rest of the mesh has them already.
      t.onPeerUp((nodeId) => this.announce(nodeId)),
      t.onPeerDown((nodeId) => {
        if (this.remote.delete(nodeId)) this.emitChanged();
      }),
    );
    this.options.registry.on('changed', this.onLocal);
    this.unsubscribe.push(() => this.options.registry.off('changed', this.onLocal));
    this.timer = this.clock.setInterval(() => {
      this.expire();
      if (this.clock.monotonic() >= this.nextAnnounceAt && !(this.announcedNone && this.hostsNone())) this.announce();
    }, this.intervalMs);
    this.announce();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    for (const off of this.unsubscribe.splice(0)) off();
    this.remote.clear();
    return Promise.resolve();
  }

  /** Local personas first, then remote ones by node. */
  all(): PersonaSummary[] {
    const local = this.options.registry.summaries(this.options.transport.localNodeId);
    const remote = [...this.remote.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([, entry]) => entry.personas);
    return [...local, ...remote];
  }

  /** Capability names of every persona on the mesh (for completion). */
  capabilityNames(): string[] {
    return [...new Set(this.all().flatMap((p) => p.capabilities))].sort();
  }

  /** Between two announcements: longer in a larger mesh (rooms/refreshInterval.ts). */
  private get refreshMs(): number {
    return refreshIntervalMs(this.intervalMs, this.remote.size + 1);
  }

  private hostsNone(): boolean {
    return this.options.registry.summaries(this.options.transport.localNodeId).length === 0;
  }

  /** To every node, or to one new neighbour. */
  private announce(to?: string): void {
    const personas = this.options.registry.summaries(this.options.transport.localNodeId).map((p) => {
      const copy = { ...p };
      delete copy.file;
      return copy;
    });
    const announcement = { nodeId: this.options.transport.localNodeId, personas, ttlMs: Math.round(this.refreshMs * 3.5) } satisfies PersonaAnnouncement;
    try {
      if (to !== undefined) return this.options.transport.sendTo(to, personaTopic, announcement);
      this.nextAnnounceAt = this.clock.monotonic() + this.refreshMs - this.intervalMs / 2;
      this.announcedNone = personas.length === 0;
      this.options.transport.publish(personaTopic, announcement);
    } catch (error) {
      this.logger.debug(`persona announcement not sent: ${(error as Error).message}`);
    }
  }

  private receive(message: PortMessage): void {
    const announcement = checkAnnouncement(message.body, message.from);
    if (typeof announcement === 'string') {
      this.logger.warn(`dropped a persona announcement from ${message.from.slice(0, 7)}: ${announcement}`);
      return;
    }
    if (announcement.nodeId === this.options.transport.localNodeId) return;
    const before = JSON.stringify(this.remote.get(announcement.nodeId)?.personas ?? []);
    this.remote.set(announcement.nodeId, { personas: announcement.personas, expires: this.clock.monotonic() + announcement.ttlMs });
    if (JSON.stringify(announcement.personas) !== before) this.emitChanged();
  }

  private expire(): void {
    const now = this.clock.monotonic();
    let changed = false;
    for (const [nodeId, entry] of this.remote) {
      if (entry.expires <= now) {
        this.remote.delete(nodeId);
        changed = true;
      }
    }
    if (changed) this.emitChanged();
  }

  private emitChanged(): void {
    this.emit('changed', this.all());
  }
}

function isText(value: unknown, max = limits.text): value is string {
  return typeof value === 'string' && value.length <= max;
}

function textList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > limits.list || !value.every((v) => isText(v))) return undefined;
  return value;
}

/** The announcement, checked, or why it was refused. Only the sender's own personas are accepted. */
export function checkAnnouncement(body: unknown, from: string): PersonaAnnouncement | string {
  if (typeof body !== 'object' || body === null) return 'not an object';
  const { nodeId, personas, ttlMs } = body as Record<string, unknown>;
  if (nodeId !== from) return 'it announces personas of another node';
  if (typeof ttlMs !== 'number' || !(ttlMs > 0) || ttlMs > 600_000) return 'bad ttl';
  if (!Array.isArray(personas) || personas.length > limits.personasPerNode) return `personas must be a list of at most ${limits.personasPerNode}`;
  const out: PersonaSummary[] = [];
  for (const raw of personas as unknown[]) {
    if (typeof raw !== 'object' || raw === null) return 'a persona is not an object';
    const p = raw as Record<string, unknown>;
    const capabilities = textList(p['capabilities']);
    const rooms = textList(p['rooms']);
    if (!isText(p['id']) || !personaIdPattern.test(p['id'])) return 'a persona id is invalid';
    if (!isText(p['name']) || !capabilities || !rooms) return `persona ${p['id']} is malformed`;
    if (!(brainProviders as readonly unknown[]).includes(p['provider'])) return `persona ${p['id']} has an unknown provider`;
    if (!(states as readonly unknown[]).includes(p['state'])) return `persona ${p['id']} has an unknown state`;
    const summary: PersonaSummary = {
      id: p['id'],
      name: p['name'],
      nodeId: from,
      local: false,
      provider: p['provider'] as PersonaSummary['provider'],
      capabilities,
      rooms,
      state: p['state'] as PersonaState,
    };
    if (isText(p['description'])) summary.description = p['description'];
    if (isText(p['model'])) summary.model = p['model'];
    if (isText(p['reason'])) summary.reason = p['reason'];
    out.push(summary);
  }
  return { nodeId: from, personas: out, ttlMs };
}
