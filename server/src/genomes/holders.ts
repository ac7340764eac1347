/**
 * Who holds which genome: this node announces the ids it holds, and records what every peer
 * announces (a query's answer adds its sender too). Downloads ask every up peer anyway; the
 * holders are what a summary counts as seeders and what `holdersOf` tells the evolution loop.
 */
import { genomeTopics, type GenomeAnnounce } from '../../../protocol/genomes';
import type { PortMessage } from '../kernel/meshPort';
import type { PeerLink } from './link';
import type { GenomeTransport } from './transport';

/** Ids read from one announce at most: a peer's list is not allowed to grow without bound. */
const maxAnnouncedIds = 10_000;

export interface HoldersOptions {
  transport: GenomeTransport;
  link: PeerLink;
  /** The ids held here, or undefined while the store is closed (then there is nothing to announce). */
  held(): string[] | undefined;
}

export class Holders {
  private readonly byGenome = new Map<string, Set<string>>();

  constructor(private readonly options: HoldersOptions) {}

  /** Tells the whole mesh what this node holds. */
  announce(): void {
    const genomes = this.heldNow();
    if (!genomes) return;
    const message: GenomeAnnounce = { genomes };
    this.options.transport.publish(genomeTopics.announce, message);
  }

  /**
   * A node that (re)joins the mesh with its first peer tells everyone what it holds; a further
   * peer only needs telling itself. A mesh-wide announce on every session up made session churn
   * a broadcast storm (far over the origin's budget), and those broadcasts overtook the node's
   * chat messages, which a receiver then dropped as late.
   */
  announceOnPeerUp(peer: string): void {
    if (this.options.transport.upPeers().length <= 1) return this.announce();
    const genomes = this.heldNow();
    if (!genomes) return;
    const message: GenomeAnnounce = { genomes };
    this.options.transport.sendTo(peer, genomeTopics.announce, message);
  }

  onAnnounce(message: PortMessage): void {
    const body = message.body as Partial<GenomeAnnounce> | undefined;
    if (!body || !Array.isArray(body.genomes)) return this.options.link.malformed(message.from, 'announce');
    // An announce is the peer's whole list: what it no longer names, it no longer holds.
    for (const set of this.byGenome.values()) set.delete(message.from);
    for (const id of body.genomes.slice(0, maxAnnouncedIds)) {
      if (typeof id !== 'string' || id.length !== 64) continue;
      this.add(id, message.from);
    }
  }

  add(id: string, peer: string): void {
    const set = this.byGenome.get(id) ?? new Set<string>();
    set.add(peer);
    this.byGenome.set(id, set);
  }

  peerDown(peer: string): void {
    for (const set of this.byGenome.values()) set.delete(peer);
  }

  /** Node ids that announced they hold the genome. */
  of(id: string): string[] {
    return [...(this.byGenome.get(id) ?? [])];
  }

  private heldNow(): string[] | undefined {
    return this.options.link.stopped ? undefined : this.options.held();
  }
}
