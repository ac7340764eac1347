/** In-process MeshNetwork nodes on loopback (127.0.0.1, multicast named on 127.0.0.1). */
import { generateIdentity, type Identity } from '../../../../server/src/kernel/identity';
import { MemoryLog } from '../../../../server/src/kernel/log';
import { parseMeshKey, type MeshKey } from '../../../../server/src/kernel/meshKey';
import { MeshNetwork, type MeshNetworkOptions } from '../../../../server/src/net/meshNetwork';
import { until } from '../../../support/until';

export const testMeshKey = parseMeshKey('pmk1-' + Buffer.alloc(32, 42).toString('base64url'));
export const group = '239.255.77.77';

let nextPort = 41000 + Math.floor(Math.random() * 8000);
/** A UDP port for one test's discovery group, distinct from other tests in this run. */
export function freshPort(): number {
  nextPort += 7;
  return nextPort;
}

export interface TestNode {
  mesh: MeshNetwork;
  log: MemoryLog;
  identity: Identity;
}

export function makeNode(port: number | undefined, overrides: Partial<MeshNetworkOptions> & { key?: MeshKey } = {}): TestNode {
  const log = new MemoryLog();
  const identity = overrides.identity ?? generateIdentity().identity;
  const mesh = new MeshNetwork({
    identity,
    meshKey: overrides.key ?? testMeshKey,
    name: overrides.name ?? `node-${identity.nodeId.slice(0, 4)}`,
    listen: { host: '127.0.0.1', port: 0 },
    discovery: port === undefined ? false : { group, port, interface: '127.0.0.1', intervalMs: 500 },
    logger: log.logger,
    ...overrides,
  });
  return { mesh, log, identity };
}

/** `until` for a condition: resolves once `predicate` holds, fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000, diagnostics?: () => string): Promise<void> {
  await until(what, () => predicate() || undefined, timeoutMs, diagnostics);
}


const barrierPrefix = '/test/barrier/';
let barrierRounds = 0;

/**
 * One barrier round: every node sends a marker on each of its sessions with the other `nodes`,
 * and each peer answers it on the same session. A session delivers in order, and what a peer
 * queued while it read the messages before the marker (a PRUNE, a GRAFT: control messages, which
 * leave before the chat-priority answer) reaches the node before the answer. So once every marker
 * is answered, everything each node had sent its peers before the round, and each peer's
 * reactions to it, has been read. A session that goes down meanwhile is not waited for (whatever
 * it carried is lost anyway).
 */
async function barrierRound(nodes: readonly TestNode[], timeoutMs: number): Promise<void> {
  const round = ++barrierRounds;
  const ids = new Set(nodes.map((node) => node.mesh.nodeId));
  const answered = new Set<string>();
  const expected: { from: TestNode; to: string }[] = [];
  const offs = nodes.map((node) =>
    node.mesh.subscribe(barrierPrefix, (message) => {
      const body = message.body as { round?: number };
      if (body.round !== round) return;
      if (message.topic === `${barrierPrefix}marker`) node.mesh.sendTo(message.from, `${barrierPrefix}answer`, { round });
      else answered.add(`${node.mesh.nodeId} ${message.from}`);
    }),
  );
  try {
    for (const node of nodes) {
      for (const peer of node.mesh.upPeers()) {
        if (ids.has(peer) && node.mesh.sendTo(peer, `${barrierPrefix}marker`, { round })) expected.push({ from: node, to: peer });
      }
    }
    const pending = () => expected.filter(({ from, to }) => !answered.has(`${from.mesh.nodeId} ${to}`) && from.mesh.upPeers().includes(to));
    await until(
      'every session to have carried a marker and its answer',
      () => pending().length === 0 || undefined,
      timeoutMs,
      () => `unanswered: ${pending().map(({ from, to }) => `${from.mesh.nodeId.slice(0, 6)}→${to.slice(0, 6)}`).join(', ')}`,
    );
  } finally {
    for (const off of offs) off();
  }
}

/** Envelopes each node has pushed or relayed (its own and others'), and duplicates it has read. */
function envelopeTraffic(nodes: readonly TestNode[]): number {
  return nodes.reduce((sum, node) => {
    const counters = node.mesh.stats().counters;
    return sum + (counters['router.pushed'] ?? 0) + (counters['router.forwarded'] ?? 0) + (counters['router.duplicate'] ?? 0);
  }, 0);
}

/**
 * Resolves once the mesh of `nodes` is quiet: every envelope in flight between them has been read
 * (over any number of hops), and so has every peer's answer to it. The positive signal for "and
 * nothing more arrives": barrier rounds (see `barrierRound`) until one passes in which no node
 * pushed, relayed or read a duplicate envelope. A copy still in flight when a round starts is read
 * during that round, and one it causes (a relay) shows in the counters: a round without any means
 * nothing was left in flight. The markers are addressed events: they move none of those counters.
 */
export async function settled(nodes: readonly TestNode[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = envelopeTraffic(nodes);
    await barrierRound(nodes, Math.max(1, deadline - Date.now()));
    if (envelopeTraffic(nodes) === before) return;
    if (Date.now() > deadline) throw new Error(`the mesh did not settle within ${timeoutMs} ms: envelopes still moving`);
  }
}

export async function stopAll(nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.mesh.stop()));
}
