/**
 * The overlay in a node: HyParView (hyparview.ts) chooses the few sessions this node keeps, and
 * Plumtree (plumtree.ts) spreads broadcast events over them, so a mesh of a hundred nodes costs
 * each node a handful of sessions instead of N−1. This file is the glue between the two protocols
 * and the node's session manager and router: the protocols themselves never touch a socket (the
 * simulator runs them unchanged).
 *
 * - Candidates come from multicast beacons and peer exchange; a candidate heard again after a
 *   silence (a healed partition, a woken laptop) starts afresh, without its old backoff.
 * - A static peer (`--peer`) is the contact of a HyParView join once its session is up.
 * - Membership messages and Plumtree's control travel as `{t: 'ov', m}`; the eager payload is the
 *   ordinary `env` message, so a two-node mesh sends exactly what it sent before.
 */
import type { Clock, Random } from '../../node/clock';
import type { Logger } from '../../node/log';
import type { Envelope, Priority, SessionMessage } from '../../protocol/mesh';
import type { OverlayMessage, PeerRef } from '../../protocol/overlay';
import type { Counters } from '../counters';
import { Router, type BroadcastTree } from '../router';
import { HyParView, type HyParViewStats } from './hyparview';
import { Plumtree, type PlumtreeStats } from './plumtree';

/** What the overlay needs of the session manager. */
export interface OverlaySessions {
  connect(nodeId: string, addr: string): 'up' | 'dialing';
  disconnect(nodeId: string, reason: string): void;
  send(nodeId: string, message: SessionMessage, priority: Priority): boolean;
  isUp(nodeId: string): boolean;
}

export interface OverlayOptions {
  nodeId: string;
  clock: Clock;
  random: Random;
  logger: Logger;
  counters: Counters;
  sessions: OverlaySessions;
  router: Router;
  /** Sessions kept at least (default 6) and accepted at most (default 12; a hub takes hundreds). */
  activeTarget?: number;
  activeMax?: number;
}

interface Item {
  envelope: Envelope;
  /** The envelope encoded for the next hop, made on the first push and reused. */
  bytes?: Buffer;
}

export interface OverlayStats {
  active: number;
  passive: number;
  membership: HyParViewStats;
  broadcast: PlumtreeStats;
}

const addressPattern = /^[0-9a-fA-F.:[\]]+:\d{1,5}$/;

export class Overlay implements BroadcastTree {
  private membership: HyParView | undefined;
  private readonly tree: Plumtree<Item>;
  private readonly pendingCandidates: PeerRef[] = [];

  constructor(private readonly options: OverlayOptions) {
    this.tree = new Plumtree<Item>({
      self: options.nodeId,
      clock: options.clock,
      logger: options.logger.child('plumtree'),
      has: (root, id) => options.router.seenBroadcast(root, id),
      links: {
        push: (peer, item) => {
          item.bytes = options.router.push(peer, item.envelope, item.bytes);
        },
        control: (peer, message) => void options.sessions.send(peer, { t: 'ov', m: message }, 'control'),
      },
    });
  }

  /** Starts membership once the node knows the address it accepts sessions on. */
  start(listenAddress: string): void {
    const { options } = this;
    const membership = new HyParView({
      self: { id: options.nodeId, addr: listenAddress },
      clock: options.clock,
      random: options.random,
      logger: options.logger.child('hyparview'),
      activeTarget: options.activeTarget,
      activeMax: options.activeMax,
      // On a LAN the beacons say when a lost peer is back (the `reappeared` hint). Probing every
      // lost candidate on its backoff cost a handshake a probe and, with a hundred nodes short of
      // CPU while joining, kept sessions churning (538 changes in a quiet minute).
      probeFailures: 0,
      links: {
        connect: (peer) => this.connect(peer),
        disconnect: (peerId) => options.sessions.disconnect(peerId, 'overlay'),
        send: (peerId, message) => options.sessions.send(peerId, { t: 'ov', m: message }, 'control'),
        // Shuffle answers go to the shuffle's origin only when a session with it is open: passive
        // views are refreshed by beacons on a LAN anyway.
        sendTo: (peer, message) => options.sessions.isUp(peer.id) && options.sessions.send(peer.id, { t: 'ov', m: message }, 'control'),
      },
    });
    membership.on('up', () => options.counters.add('overlay.active.up'));
    membership.on('down', () => options.counters.add('overlay.active.down'));
    this.membership = membership;
    membership.start();
    for (const candidate of this.pendingCandidates.splice(0)) membership.addCandidate(candidate);
  }

  stop(): void {
    this.membership?.stop();
    this.tree.stop();
  }

  /** A peer we could keep a session with. `fresh`: heard again after a silence, so its old failures no longer count. */
  candidate(peer: PeerRef, fresh = false): void {
    if (!addressPattern.test(peer.addr)) return;
    if (!this.membership) {
      this.pendingCandidates.push(peer);
      return;
    }
    // Heard again after a silence: its old failures no longer count, and it is probed next even at target.
    this.membership.addCandidate(peer, { reappeared: fresh });
  }

  /** The peer said goodbye. */
  forget(peerId: string): void {
    this.membership?.forget(peerId);
  }

  /**
   * Every open session carries broadcasts, also one the membership has not accepted (yet): an
   * event published while a session is still being agreed on is not lost, and one that is refused
   * is closed within seconds anyway.
   */
  sessionUp(peerId: string, outbound: boolean, staticAddress?: string): void {
    this.tree.neighborUp(peerId);
    const membership = this.membership;
    if (!membership) return;
    membership.sessionUp(peerId, outbound);
    if (staticAddress !== undefined && !membership.isActive(peerId)) membership.join({ id: peerId, addr: staticAddress });
  }

  sessionDown(peerId: string): void {
    this.tree.neighborDown(peerId);
    this.membership?.sessionDown(peerId);
  }

  dialFailed(peerId: string): void {
    this.membership?.connectFailed(peerId);
  }

  /** An `ov` message from a peer; false when it is malformed (the caller closes that session). */
  receive(from: string, message: OverlayMessage): boolean {
    const kind = typeof message.t === 'string' ? message.t : '';
    if (kind.startsWith('hv.')) return this.membership?.receive(from, message) ?? true;
    if (kind.startsWith('pt.')) return this.tree.receiveControl(from, message);
    return false;
  }

  stats(): OverlayStats | undefined {
    const membership = this.membership;
    if (!membership) return undefined;
    return { active: membership.activePeers().length, passive: membership.passivePeers().length, membership: membership.stats(), broadcast: this.tree.stats() };
  }

  // ---- BroadcastTree (the router's side)

  publish(envelope: Envelope): void {
    this.tree.broadcast(Router.broadcastId(envelope), { envelope });
  }

  received(from: string, envelope: Envelope, isNew: boolean): void {
    this.tree.receive(from, envelope.origin, Router.broadcastId(envelope), { envelope }, isNew, this.options.router.travelled(envelope));
  }

  private connect(peer: PeerRef): void {
    if (!addressPattern.test(peer.addr)) {
      this.options.clock.setTimeout(() => this.membership?.connectFailed(peer.id), 0);
      return;
    }
    // Already up (a session the peer opened, or a static one): the membership hears of it at once.
    if (this.options.sessions.connect(peer.id, peer.addr) === 'up') this.options.clock.setTimeout(() => this.membership?.sessionUp(peer.id, true), 0);
  }
}
