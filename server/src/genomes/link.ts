/**
 * What every part of the genome service shares to talk to peers: the direct messages it sends and
 * the one "stopped" flag. Once the service stops nothing more goes out, even from work (a piece
 * read, a query answer) that was under way.
 */
import { genomeTopics, type GenomeDirect } from '../../../protocol/genomes';
import type { Logger } from '../kernel/log';
import type { GenomeTransport } from './transport';

export class PeerLink {
  private stoppedValue = false;

  constructor(
    private readonly transport: GenomeTransport,
    private readonly logger: Logger,
  ) {}

  get stopped(): boolean {
    return this.stoppedValue;
  }

  /** Set first thing in the service's stop(), and never cleared: a stopped service is not restarted. */
  stop(): void {
    this.stoppedValue = true;
  }

  sendDirect(peer: string, message: GenomeDirect): void {
    if (!this.stoppedValue) this.transport.sendTo(peer, genomeTopics.direct(peer), message);
  }

  /** Anything can arrive from the mesh: a malformed message is dropped with a debug line, never an error. */
  malformed(from: string, what: string): void {
    this.logger.debug(`dropped a malformed genome ${what} from ${from.slice(0, 7)}`);
  }
}
