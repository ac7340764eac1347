import assert from 'node:assert/strict';
import { HyParView, type HyParViewOptions } from '../../../../server/src/net/overlay/hyparview';
import type { MembershipLinks, MembershipMessage, PeerRef } from '../../../../server/src/net/overlay/types';
import { systemClock, type Random } from '../../../../server/src/kernel/clock';
import { FakeClock } from '../support/fakeClock';

/** Deterministic pseudo-random numbers (mulberry32), so a failing run can be replayed. */
function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, bytes: (length) => Buffer.from(Array.from({ length }, () => Math.floor(next() * 256))) };
}

type Tuning = Omit<HyParViewOptions, 'self' | 'clock' | 'random' | 'links'>;

interface HostNode {
  ref: PeerRef;
  hv: HyParView;
  alive: boolean;
  /** Dials started and not yet reported back (host side). */
  dialsInFlight: number;
  maxDialsInFlight: number;
  /** Clock time of every links.connect, per target. */
  dials: Map<string, number[]>;
  activeChanges: number;
}

/**
 * A tiny synchronous host: sessions are pairs, messages and session events wait in one FIFO queue
 * until pump(). A dial opens a session on both sides on the next pump, unless the target is dead
 * (then it fails after `failedDialMs` of clock time, like a TCP connect timing out).
 */
class TestNet {
  readonly clock = new FakeClock();
  readonly random: Random;
  readonly nodes = new Map<string, HostNode>();
  readonly sent: Array<{ from: string; to: string; message: MembershipMessage; at: number }> = [];
  failedDialMs = 0;
  /** A network split: dials between two ids for which this returns true fail, messages between them are lost. */
  split: ((a: string, b: string) => boolean) | undefined;
  /** A message for which this returns true is lost in transit (the sender's send still succeeds). */
  drop: ((from: string, to: string, message: MembershipMessage) => boolean) | undefined;
  private readonly sessions = new Set<string>();
  private readonly dials = new Map<string, { cancelled: boolean }>();
  private readonly queue: Array<() => void> = [];

  constructor(seed = 1, private readonly tuning: Tuning = {}) {
    this.random = seededRandom(seed);
  }

  add(id: string, tuning: Tuning = {}): HostNode {
    const ref = { id, addr: `10.0.0.${this.nodes.size + 1}:7000` };
    const node: HostNode = { ref, alive: true, dialsInFlight: 0, maxDialsInFlight: 0, dials: new Map(), activeChanges: 0, hv: undefined! };
    node.hv = new HyParView({ self: ref, clock: this.clock, random: this.random, links: this.linksOf(node), ...this.tuning, ...tuning });
    node.hv.on('up', () => node.activeChanges++);
    node.hv.on('down', () => node.activeChanges++);
    this.nodes.set(id, node);
    node.hv.start();
    return node;
  }

  node(id: string): HostNode {
    return this.nodes.get(id)!;
  }

  live(): HostNode[] {
    return [...this.nodes.values()].filter((node) => node.alive);
  }

  pump(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      assert.ok(guard < 1_000_000, 'message storm');
      this.queue.shift()!();
    }
  }

  /** Advances the clock in steps, delivering everything between steps. */
  run(ms: number, stepMs = 100): void {
    this.pump();
    for (let elapsed = 0; elapsed < ms; elapsed += stepMs) {
      this.clock.advance(stepMs);
      this.pump();
    }
  }

  /** A crash: its sessions drop on the other side, its timers are gone. */
  kill(id: string): void {
    const node = this.node(id);
    node.alive = false;
    node.hv.stop();
    for (const key of [...this.sessions]) {
      const [a, b] = key.split('|') as [string, string];
      if (a !== id && b !== id) continue;
      this.sessions.delete(key);
      const other = a === id ? b : a;
      this.queue.push(() => this.whenAlive(other, (peer) => peer.hv.sessionDown(id)));
    }
  }

  /** Splits the network: every session across the split drops on both sides, dials across fail until heal(). */
  partition(split: (a: string, b: string) => boolean): void {
    this.split = split;
    for (const key of [...this.sessions]) {
      const [a, b] = key.split('|') as [string, string];
      if (!split(a, b)) continue;
      this.sessions.delete(key);
      this.queue.push(() => this.whenAlive(a, (node) => node.hv.sessionDown(b)));
      this.queue.push(() => this.whenAlive(b, (node) => node.hv.sessionDown(a)));
    }
  }

  heal(): void {
    this.split = undefined;
  }

  private linksOf(node: HostNode): MembershipLinks {
    const id = node.ref.id;
    return {
      connect: (peer) => this.connect(node, peer),
      disconnect: (peerId) => {
        const dial = this.dials.get(`${id}>${peerId}`);
        if (dial) dial.cancelled = true;
        if (this.sessions.delete(pairKey(id, peerId))) this.queue.push(() => this.whenAlive(peerId, (peer) => peer.hv.sessionDown(id)));
      },
      send: (peerId, message) => {
        if (!node.alive || !this.sessions.has(pairKey(id, peerId))) return false;
        this.deliver(id, peerId, message);
        return true;
      },
      sendTo: (peer, message) => {
        if (!node.alive || !this.nodes.get(peer.id)?.alive) return false;
        this.deliver(id, peer.id, message);
        return true;
      },
    };
  }

  private deliver(from: string, to: string, message: MembershipMessage): void {
    this.sent.push({ from, to, message, at: this.clock.time });
    if (this.drop?.(from, to, message) || this.split?.(from, to)) return;
    const copy: unknown = structuredClone(message);
    this.queue.push(() => this.whenAlive(to, (peer) => assert.ok(peer.hv.receive(from, copy), `${to} refused ${message.t} as malformed`)));
  }

  private connect(node: HostNode, peer: PeerRef): void {
    const id = node.ref.id;
    const times = node.dials.get(peer.id) ?? [];
    times.push(this.clock.time);
    node.dials.set(peer.id, times);
    const dial = { cancelled: false };
    this.dials.set(`${id}>${peer.id}`, dial);
    node.dialsInFlight++;
    node.maxDialsInFlight = Math.max(node.maxDialsInFlight, node.dialsInFlight);
    const settle = (outcome: () => void) => {
      node.dialsInFlight--;
      if (this.dials.get(`${id}>${peer.id}`) === dial) this.dials.delete(`${id}>${peer.id}`);
      if (!dial.cancelled && node.alive) outcome();
    };
    const target = this.nodes.get(peer.id);
    if (!target?.alive || this.split?.(id, peer.id)) {
      const fail = () => settle(() => node.hv.connectFailed(peer.id));
      if (this.failedDialMs > 0) this.clock.setTimeout(() => this.queue.push(fail), this.failedDialMs);
      else this.queue.push(fail);
      return;
    }
    this.queue.push(() => settle(() => this.open(node, target)));
  }

  private open(node: HostNode, target: HostNode): void {
    if (!target.alive || this.split?.(node.ref.id, target.ref.id)) {
      node.hv.connectFailed(target.ref.id);
      return;
    }
    const key = pairKey(node.ref.id, target.ref.id);
    const existed = this.sessions.has(key);
    this.sessions.add(key);
    node.hv.sessionUp(target.ref.id, true);
    // At most one session per pair: a dial over an existing one is merged, the other side already knows it.
    if (!existed) target.hv.sessionUp(node.ref.id, false);
  }

  private whenAlive(id: string, action: (node: HostNode) => void): void {
    const node = this.nodes.get(id);
    if (node?.alive) action(node);
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function assertSymmetric(net: TestNet): void {
  for (const node of net.live()) {
    for (const peerId of node.hv.activePeers()) {
      const peer = net.nodes.get(peerId);
      assert.ok(peer?.alive, `${node.ref.id} keeps dead ${peerId} active`);
      assert.ok(peer.hv.isActive(node.ref.id), `${node.ref.id} → ${peerId} is one-sided`);
    }
  }
}

function assertConnected(net: TestNet): void {
  const live = net.live();
  const seen = new Set([live[0]!.ref.id]);
  const todo = [live[0]!.ref.id];
  while (todo.length > 0) {
    for (const peerId of net.node(todo.pop()!).hv.activePeers()) {
      if (seen.has(peerId)) continue;
      seen.add(peerId);
      todo.push(peerId);
    }
  }
  assert.equal(seen.size, live.length, 'the overlay is split');
}

function degrees(net: TestNet): number[] {
  return net.live().map((node) => node.hv.activePeers().length);
}

/** 50 nodes joining one by one, each through a random node already in; `joinDegrees`: each newcomer's degree 1 s after its join. */
function grow(seed: number, count = 50): TestNet & { joinDegrees: number[] } {
  const net = Object.assign(new TestNet(seed), { joinDegrees: [] as number[] });
  const random = seededRandom(seed + 1000);
  for (let i = 0; i < count; i++) {
    const node = net.add(`n${i}`);
    if (i > 0) node.hv.join(net.node(`n${Math.floor(random.next() * i)}`).ref);
    net.run(1_000);
    net.joinDegrees.push(node.hv.activePeers().length);
  }
  net.run(10 * 60_000);
  return net;
}

describe('net/overlay/hyparview', () => {
  it('50 nodes joining through random contacts form a connected, symmetric overlay within the watermarks', () => {
    const net = grow(7);
    const degree = degrees(net);
    for (const d of degree) assert.ok(d >= 1 && d <= 12, `degree ${d}`);
    assertSymmetric(net);
    assertConnected(net);
    const mean = degree.reduce((a, b) => a + b, 0) / degree.length;
    assert.ok(mean >= 5, `mean degree ${mean}`);
    // A newcomer knows only its contact: the FORWARD_JOIN walks alone connect it, within a second.
    const late = net.joinDegrees.slice(10);
    const lateMean = late.reduce((a, b) => a + b, 0) / late.length;
    assert.ok(lateMean >= 3, `newcomers had ${lateMean} active peers 1 s after joining`);
    const totals = net.live().map((node) => node.hv.stats());
    assert.equal(totals.reduce((sum, s) => sum + s.joins, 0), 49);
    assert.ok(totals.reduce((sum, s) => sum + s.forwardJoins, 0) > 0);
    assert.ok(totals.every((s) => s.shuffles > 0));
    for (const node of net.live()) assert.ok(node.hv.passivePeers().length <= 30);
  });

  it('is idle after convergence: 10 minutes change no active view, dial nothing and leave only the shuffle timers', () => {
    const net = grow(11);
    for (const d of degrees(net)) assert.ok(d >= 6, `a node stayed below target (${d})`);
    const changes = net.live().map((node) => node.activeChanges);
    const dials = net.live().map((node) => [...node.dials.values()].flat().length);
    const sentBefore = net.sent.length;
    for (let minute = 0; minute < 10; minute++) {
      net.run(60_000, 1_000);
      assert.equal(net.clock.activeTimers, net.live().length, 'only one (shuffle) timer per node');
    }
    assert.deepEqual(net.live().map((node) => node.activeChanges), changes);
    assert.deepEqual(net.live().map((node) => [...node.dials.values()].flat().length), dials);
    const kinds = new Set(net.sent.slice(sentBefore).map((entry) => entry.message.t));
    assert.deepEqual([...kinds].sort(), ['hv.shuf', 'hv.shuf.re']);
  });

  it('after 30% of the nodes crash, survivors refill to the target from their passive views and stay connected', () => {
    const net = grow(3);
    const random = seededRandom(99);
    const victims = net.live().map((node) => node.ref.id).sort(() => random.next() - 0.5).slice(0, 15);
    for (const id of victims) net.kill(id);
    // Well within one shuffle period (30 to 90 s): the refill comes from the failures, not from shuffles.
    net.run(10_000);
    assert.equal(net.live().length, 35);
    for (const d of degrees(net)) assert.ok(d >= 6 && d <= 12, `survivor degree ${d} after 10 s`);
    assertSymmetric(net);
    assertConnected(net);
    net.run(5 * 60_000);
    for (const d of degrees(net)) assert.ok(d >= 6 && d <= 12, `survivor degree ${d} after 5 min`);
    assertSymmetric(net);
    assertConnected(net);
  });

  it('the answer to a join gives the newcomer candidates before any shuffle', () => {
    const net = new TestNet(13, { shuffleIntervalMs: 0 });
    const contact = net.add('contact', { activeTarget: 1 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      net.add(id, { activeTarget: 1, activeMax: 1 }).hv.addCandidate(contact.ref);
      net.run(1_000);
    }
    assert.equal(contact.hv.activePeers().length, 5);
    const newcomer = net.add('new', { activeTarget: 1 });
    newcomer.hv.join(contact.ref);
    net.run(1_000);
    const answer = net.sent.find((entry) => entry.from === 'contact' && entry.to === 'new' && entry.message.t === 'hv.nbr.re');
    assert.ok(answer?.message.t === 'hv.nbr.re' && answer.message.ok);
    assert.equal(answer.message.try.length, 4);
    const known = new Set([...newcomer.hv.activePeers(), ...newcomer.hv.passivePeers().map((peer) => peer.id)]);
    for (const peer of answer.message.try) assert.ok(known.has(peer.id), `newcomer does not know ${peer.id}`);
  });

  it('a join whose answer never came is retried as a join: the newcomer is not cut off when its contact then crashes', () => {
    const net = grow(21, 30);
    const contact = net.node('n5');
    let joinDropped = false;
    net.drop = (from, _to, message) => {
      if (joinDropped || from !== 'new' || message.t !== 'hv.join') return false;
      joinDropped = true;
      return true;
    };
    const newcomer = net.add('new');
    // The contact crashes the moment the newcomer counts it as a neighbour, before any shuffle.
    newcomer.hv.on('up', (peerId) => {
      if (peerId === 'n5' && contact.alive) net.kill('n5');
    });
    newcomer.hv.join(contact.ref);
    net.run(25_000);
    assert.ok(joinDropped);
    assert.ok(!contact.alive, 'the newcomer never got the contact as a neighbour');
    assert.ok(newcomer.hv.activePeers().length >= 1, 'cut off after its contact crashed');
    const requests = net.sent.filter((entry) => entry.from === 'new' && entry.to === 'n5').map((entry) => entry.message.t);
    assert.deepEqual(requests.slice(0, 2), ['hv.join', 'hv.join'], 'the retry was not a join');
    assert.equal(newcomer.hv.stats().joinRetries, 1);
    net.run(60_000);
    assert.ok(newcomer.hv.activePeers().length >= 6, `newcomer degree ${newcomer.hv.activePeers().length}`);
    assertSymmetric(net);
    assertConnected(net);
  });

  it('an accepted neighbour request is answered with up to 4 live candidates, never the requester or a failed one', () => {
    const net = new TestNet(14, { shuffleIntervalMs: 0 });
    const contact = net.add('contact', { activeTarget: 1 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      net.add(id, { activeTarget: 1, activeMax: 1 }).hv.addCandidate(contact.ref);
      net.run(1_000);
    }
    net.kill('e');
    net.run(1_000);
    assert.deepEqual(contact.hv.activePeers().sort(), ['a', 'b', 'c', 'd']);
    assert.ok(contact.hv.passivePeers().some((peer) => peer.id === 'e'), 'the failed peer is a candidate');
    // No join: a plain (high-priority) neighbour request, as after discovery.
    const lonely = net.add('lonely', { activeTarget: 1 });
    lonely.hv.addCandidate(contact.ref);
    net.run(1_000);
    assert.ok(lonely.hv.isActive('contact'));
    const answer = net.sent.find((entry) => entry.from === 'contact' && entry.to === 'lonely' && entry.message.t === 'hv.nbr.re');
    assert.ok(answer?.message.t === 'hv.nbr.re' && answer.message.ok);
    assert.deepEqual(answer.message.try.map((peer) => peer.id).sort(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(lonely.hv.passivePeers().map((peer) => peer.id).sort(), ['a', 'b', 'c', 'd']);
  });

  it('a node short of candidates shuffles within seconds of its first active peer, then on the normal period', () => {
    const net = grow(23, 30);
    const member = net.node('n3');
    const node = net.add('x');
    let firstUp: number | undefined;
    node.hv.on('up', () => (firstUp ??= net.clock.time));
    const sentBefore = net.sent.length;
    node.hv.addCandidate(member.ref);
    net.run(10 * 60_000);
    const times = net.sent
      .slice(sentBefore)
      .filter((entry) => entry.message.t === 'hv.shuf' && entry.message.origin.id === 'x' && entry.from === 'x')
      .map((entry) => entry.at);
    assert.ok(firstUp !== undefined);
    assert.ok(times.length > 0 && times[0]! - firstUp <= 5_000, `first shuffle ${times[0]! - firstUp} ms after the first peer`);
    // Once it knows enough candidates, the normal period (60 s ± 50%) again.
    const healthyFrom = times.findIndex((_, i) => i > 0 && times[i]! - times[i - 1]! >= 30_000);
    assert.ok(healthyFrom > 0 && healthyFrom <= 4, `shuffle times ${times.join(', ')}`);
    for (let i = healthyFrom; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 30_000, `shuffle times ${times.join(', ')}`);
    assert.ok(node.hv.passivePeers().length >= 6);
  });

  it('a node at activeMax refuses a low-priority request with alternatives; the refused node connects to those', () => {
    const net = new TestNet(5, { shuffleIntervalMs: 0 });
    const hub = net.add('hub', { activeTarget: 1, activeMax: 3 });
    for (const id of ['a', 'b', 'c']) {
      net.add(id, { activeTarget: 1 }).hv.join(hub.ref);
      net.run(1_000);
    }
    assert.deepEqual(hub.hv.activePeers().sort(), ['a', 'b', 'c']);
    net.add('x', { activeTarget: 1 });
    const newcomer = net.add('n', { activeTarget: 3 });
    newcomer.hv.join(net.node('x').ref);
    net.run(1_000);
    assert.deepEqual(newcomer.hv.activePeers(), ['x']);

    newcomer.hv.addCandidate(hub.ref);
    net.run(5_000);
    const refusal = net.sent.find((entry) => entry.from === 'hub' && entry.message.t === 'hv.nbr.re' && !entry.message.ok);
    assert.ok(refusal?.message.t === 'hv.nbr.re');
    assert.ok(refusal.message.try.length >= 1 && refusal.message.try.length <= 4);
    assert.ok(refusal.message.try.every((peer) => peer.id !== 'n' && peer.id !== 'hub'));
    assert.equal(hub.hv.stats().refused, 1);
    assert.deepEqual(hub.hv.activePeers().sort(), ['a', 'b', 'c']);
    assert.ok(!newcomer.hv.isActive('hub'));
    const elsewhere = newcomer.hv.activePeers().filter((id) => ['a', 'b', 'c'].includes(id));
    assert.ok(elsewhere.length >= 1, `newcomer active: ${newcomer.hv.activePeers().join(',')}`);
    assert.ok(newcomer.hv.activePeers().length >= 3);
    assertSymmetric(net);
  });

  it('a node with no active peer is always accepted: the full node drops a random peer, which stays a candidate', () => {
    const net = new TestNet(6, { shuffleIntervalMs: 0 });
    const hub = net.add('hub', { activeTarget: 1, activeMax: 3 });
    for (const id of ['a', 'b', 'c']) {
      net.add(id, { activeTarget: 1 }).hv.join(hub.ref);
      net.run(1_000);
    }
    const lonely = net.add('lonely', { activeTarget: 1 });
    lonely.hv.addCandidate(hub.ref);
    net.run(1_000);
    assert.ok(lonely.hv.isActive('hub'));
    assert.equal(hub.hv.activePeers().length, 3);
    const dropped = ['a', 'b', 'c'].find((id) => !hub.hv.isActive(id))!;
    assert.ok(net.node(dropped).hv.passivePeers().some((peer) => peer.id === 'hub'));
    assert.ok(hub.hv.passivePeers().some((peer) => peer.id === dropped));
    assertSymmetric(net);
  });

  it('a dead candidate is not redialed before its backoff ends, however often discovery mentions it, and is still retried', () => {
    const net = new TestNet(8, { shuffleIntervalMs: 0, backoff: { baseMs: 1_000, capMs: 60_000 } });
    const node = net.add('a');
    const dead = net.add('dead');
    net.kill('dead');
    for (let second = 0; second < 600; second++) {
      node.hv.addCandidate(dead.ref); // a beacon every second
      net.run(1_000, 1_000);
    }
    const times = node.dials.get('dead')!;
    assert.ok(times.length >= 8, `only ${times.length} dials in 10 minutes`);
    assert.ok(times.length <= 20, `${times.length} dials in 10 minutes`);
    for (let n = 1; n < times.length; n++) {
      const minimumWait = Math.min(60_000, 1_000 * 2 ** (n - 1)) / 2;
      assert.ok(times[n]! - times[n - 1]! >= minimumWait, `dial ${n} after ${times[n]! - times[n - 1]!} ms`);
    }
    assert.ok(node.hv.stats().connectFailures === times.length);
  });

  it('never has more than maxConcurrentConnects dials in flight, and works through every candidate', () => {
    const net = new TestNet(9, { shuffleIntervalMs: 0, maxConcurrentConnects: 2 });
    net.failedDialMs = 3_000;
    const node = net.add('a');
    const deadRefs = Array.from({ length: 20 }, (_, i) => {
      const dead = net.add(`dead${i}`);
      net.kill(dead.ref.id);
      return dead.ref;
    });
    const alive = net.add('alive', { activeTarget: 1 });
    for (const ref of deadRefs) node.hv.addCandidate(ref);
    node.hv.addCandidate(alive.ref);
    net.run(120_000);
    assert.ok(node.maxDialsInFlight <= 2, `${node.maxDialsInFlight} dials at once`);
    assert.equal(node.maxDialsInFlight, 2);
    assert.ok(node.hv.isActive('alive'));
    assert.equal(deadRefs.filter((ref) => node.dials.has(ref.id)).length, 20);
  });

  it('rejects malformed messages without changing anything', () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const links: MembershipLinks = {
      connect: (peer) => void calls.push(`connect ${peer.id}`),
      disconnect: (peerId) => void calls.push(`disconnect ${peerId}`),
      send: (peerId, message) => (calls.push(`send ${peerId} ${message.t}`), true),
      sendTo: (peer, message) => (calls.push(`sendTo ${peer.id} ${message.t}`), true),
    };
    const hv = new HyParView({ self: { id: 'me', addr: 'h:1' }, clock, random: seededRandom(1), links, shuffleIntervalMs: 0 });
    hv.start();
    hv.sessionUp('p', false);
    const peer = { id: 'p', addr: 'h:2' };
    const long = 'x'.repeat(129);
    const many = Array.from({ length: 65 }, (_, i) => ({ id: `q${i}`, addr: 'h:3' }));
    const malformed: unknown[] = [
      null, 'hv.join', 42, [], {}, { t: 'hv.nope' }, { t: 'pt.ihave', ids: [] },
      { t: 'hv.join' }, { t: 'hv.join', peer: { id: 7, addr: 'h:2' } }, { t: 'hv.join', peer: { id: 'p' } },
      { t: 'hv.join', peer: { id: long, addr: 'h:2' } }, { t: 'hv.join', peer: { id: 'p', addr: long } }, { t: 'hv.join', peer: { id: '', addr: 'h:2' } },
      { t: 'hv.join', peer: { id: 'someone-else', addr: 'h:9' } },
      { t: 'hv.fjoin', peer, ttl: -1 }, { t: 'hv.fjoin', peer, ttl: 1.5 }, { t: 'hv.fjoin', peer, ttl: '3' }, { t: 'hv.fjoin', peer, ttl: 1e9 },
      { t: 'hv.nbr', peer, high: 'yes' }, { t: 'hv.nbr', peer: { id: 'other', addr: 'h:4' }, high: true },
      { t: 'hv.nbr.re', ok: true }, { t: 'hv.nbr.re', ok: 1, try: [] }, { t: 'hv.nbr.re', ok: false, try: many }, { t: 'hv.nbr.re', ok: false, try: [peer, null] },
      { t: 'hv.disc' }, { t: 'hv.disc', alive: 'true' },
      { t: 'hv.shuf', origin: peer, peers: many, ttl: 2 }, { t: 'hv.shuf', origin: 'p', peers: [], ttl: 2 }, { t: 'hv.shuf', origin: peer, peers: [], ttl: null },
      { t: 'hv.shuf.re', peers: [{ id: 'q', addr: 5 }] }, { t: 'hv.shuf.re', peers: { length: 1 } },
    ];
    for (const message of malformed) assert.equal(hv.receive('p', message), false, JSON.stringify(message));
    assert.deepEqual(calls, []);
    assert.deepEqual(hv.activePeers(), []);
    assert.deepEqual(hv.passivePeers(), []);
    const { activeTarget, activeMax, ...counters } = hv.stats();
    assert.deepEqual([activeTarget, activeMax], [6, 12]);
    assert.ok(Object.values(counters).every((value) => value === 0));

    // Well-formed but pointless: accepted as input, ignored.
    assert.equal(hv.receive('p', { t: 'hv.shuf.re', peers: [{ id: 'me', addr: 'h:1' }, { id: 'q', addr: 'h:3' }] }), true); // unsolicited
    assert.equal(hv.receive('p', { t: 'hv.fjoin', peer: { id: 'me', addr: 'h:1' }, ttl: 0 }), true); // not from an active peer
    assert.equal(hv.receive('me', { t: 'hv.join', peer: { id: 'me', addr: 'h:1' } }), true); // ourselves
    hv.addCandidate({ id: 'me', addr: 'h:1' });
    assert.deepEqual(calls, []);
    assert.deepEqual(hv.passivePeers(), []);
    hv.stop();
  });

  it('closes a session whose peer never gets accepted, and an attempt whose dial never reports back', () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const links: MembershipLinks = {
      connect: (peer) => void calls.push(`connect ${peer.id}`),
      disconnect: (peerId) => void calls.push(`disconnect ${peerId}`),
      send: () => true,
      sendTo: () => true,
    };
    const hv = new HyParView({ self: { id: 'me', addr: 'h:1' }, clock, random: seededRandom(2), links, shuffleIntervalMs: 0, requestTimeoutMs: 10_000 });
    hv.start();
    hv.sessionUp('idle', false);
    hv.addCandidate({ id: 'silent', addr: 'h:2' });
    clock.advance(9_999);
    assert.deepEqual(calls, ['connect silent']);
    clock.advance(1);
    assert.deepEqual(calls.sort(), ['connect silent', 'disconnect idle', 'disconnect silent']);
    assert.equal(hv.stats().requestTimeouts, 2);
    hv.stop();
    assert.equal(clock.activeTimers, 0);
  });

  it('closes a session whose request went unanswered once (one disconnect), and retries a join as a join', () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const links: MembershipLinks = {
      connect: (peer) => void calls.push(`connect ${peer.id}`),
      disconnect: (peerId) => void calls.push(`disconnect ${peerId}`),
      send: (peerId, message) => (calls.push(`send ${peerId} ${message.t}`), true),
      sendTo: () => true,
    };
    const hv = new HyParView({ self: { id: 'me', addr: 'h:1' }, clock, random: seededRandom(2), links, shuffleIntervalMs: 0, requestTimeoutMs: 10_000 });
    hv.start();
    hv.join({ id: 'contact', addr: 'h:2' });
    hv.sessionUp('contact', true);
    clock.advance(10_000);
    assert.deepEqual(calls, ['connect contact', 'send contact hv.join', 'disconnect contact']);
    assert.equal(hv.stats().requestTimeouts, 1);
    // The host reports nothing more after our disconnect; after the backoff the contact is asked again, to join.
    clock.advance(2_000);
    assert.deepEqual(calls.slice(3), ['connect contact']);
    hv.sessionUp('contact', true);
    assert.deepEqual(calls.slice(4), ['send contact hv.join']);
    // Lost with its session this time: joined again.
    hv.sessionDown('contact');
    clock.advance(5_000);
    hv.sessionUp('contact', true);
    assert.deepEqual(calls.slice(5), ['connect contact', 'send contact hv.join']);
    assert.equal(hv.stats().joinRetries, 2);
    assert.equal(hv.stats().promotions, 0);
    hv.stop();
  });

  it('stop() cancels every timer (fake clock) and leaves no real one behind (system clock, checked by the leak hook)', () => {
    const clock = new FakeClock();
    const links: MembershipLinks = { connect: () => undefined, disconnect: () => undefined, send: () => true, sendTo: () => true };
    const fake = new HyParView({ self: { id: 'me', addr: 'h:1' }, clock, random: seededRandom(3), links });
    fake.start();
    fake.join({ id: 'contact', addr: 'h:2' });
    fake.sessionUp('inbound', false);
    fake.addCandidate({ id: 'candidate', addr: 'h:3' });
    fake.connectFailed('candidate'); // leaves a backoff retry timer
    assert.ok(clock.activeTimers >= 3);
    fake.stop();
    assert.equal(clock.activeTimers, 0);

    const real = new HyParView({ self: { id: 'me', addr: 'h:1' }, clock: systemClock, random: seededRandom(4), links });
    real.start();
    real.join({ id: 'contact', addr: 'h:2' });
    real.addCandidate({ id: 'candidate', addr: 'h:3' });
    real.connectFailed('candidate');
    real.stop();
  });

  it('two halves both at target merge again after a partition heals, then go idle', function () {
    this.timeout(20_000);
    const net = grow(21, 40);
    const half = (id: string) => Number(id.slice(1)) % 2;
    net.partition((a, b) => half(a) !== half(b));
    // Long enough for each half to refill from its own side, and for cross dials to back off.
    net.run(2 * 60_000);
    for (const node of net.live()) {
      assert.ok(node.hv.activePeers().every((peer) => half(peer) === half(node.ref.id)), 'a link crosses the split');
      assert.ok(node.hv.activePeers().length >= 6, `${node.ref.id} below target during the split`);
    }
    net.heal();
    net.run(3 * 60_000);
    assertConnected(net);
    assertSymmetric(net);
    for (const d of degrees(net)) assert.ok(d >= 6 && d <= 12, `degree ${d}`);
    assert.ok(net.live().some((node) => node.hv.stats().probes > 0));
    // No failure since the heal: every probe ends accepted or refused, after which nothing is probed.
    net.run(10 * 60_000);
    const changes = net.live().map((node) => node.activeChanges);
    const dials = net.live().map((node) => [...node.dials.values()].flat().length);
    net.run(10 * 60_000, 1_000);
    assert.deepEqual(net.live().map((node) => node.activeChanges), changes, 'active views changed at idle');
    assert.deepEqual(net.live().map((node) => [...node.dials.values()].flat().length), dials, 'dials at idle');
    assert.equal(net.clock.activeTimers, net.live().length, 'only one (shuffle) timer per node');
  });

  it('a candidate the host says reappeared is dialed even at target, one probe at a time, up to activeMax', () => {
    const net = new TestNet(31, { shuffleIntervalMs: 0 });
    const node = net.add('a', { activeTarget: 6, activeMax: 8 });
    const peers = Array.from({ length: 6 }, (_, i) => net.add(`p${i}`, { activeTarget: 1 }));
    for (const peer of peers) node.hv.addCandidate(peer.ref);
    net.run(1_000);
    assert.equal(node.hv.activePeers().length, 6);
    const others = ['x', 'y', 'z', 'w'].map((id) => net.add(id, { activeTarget: 1 }));
    // A plain candidate is not dialed at target: idle is idle.
    node.hv.addCandidate(others[3]!.ref);
    net.run(60_000);
    assert.equal(node.dials.has('w'), false);
    const sentBefore = net.sent.length;
    node.maxDialsInFlight = 0;
    for (const other of others.slice(0, 3)) node.hv.addCandidate(other.ref, { reappeared: true });
    net.run(1_000);
    assert.equal(node.maxDialsInFlight, 1, 'one probe at a time');
    // Up to activeMax (8): two of the three are accepted, the third is not dialed.
    assert.equal(node.hv.activePeers().length, 8);
    const dialed = ['x', 'y', 'z'].filter((id) => node.dials.has(id));
    assert.equal(dialed.length, 2);
    const log = net.sent.slice(sentBefore);
    const [first, second] = dialed.map((id) => log.findIndex((entry) => entry.from === 'a' && entry.to === id && entry.message.t === 'hv.nbr'));
    const firstAccepted = log.findIndex((entry) => entry.from === dialed[0] && entry.to === 'a' && entry.message.t === 'hv.nbr.re');
    assert.ok(first! >= 0 && firstAccepted > first! && second! > firstAccepted, 'the second probe started before the first was answered');
    assertSymmetric(net);
  });

  it('a hub is just a large activeMax: 80 nodes find it through discovery and all are accepted', () => {
    const net = new TestNet(12, { shuffleIntervalMs: 0 });
    const hub = net.add('hub', { activeMax: 300 });
    for (let i = 0; i < 80; i++) net.add(`n${i}`, { activeTarget: 1 }).hv.addCandidate(hub.ref);
    net.run(5_000);
    assert.equal(hub.hv.activePeers().length, 80);
    assert.equal(hub.hv.stats().refused, 0);
    assertSymmetric(net);
  });
});
