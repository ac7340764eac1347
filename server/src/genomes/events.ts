/**
 * The events of GenomeService. Its parts (catalog, search, downloads) raise them through the
 * service's own emitter, so a listener sees one source whichever part an event comes from.
 */
import type { EventEmitter } from 'node:events';
import type { GenomeProgress, GenomeRejected } from '../../../protocol/genomes';

export interface GenomeServiceEvents {
  progress: [GenomeProgress];
  piece: [{ id: string; blob: string; piece: number; from: string }];
  'bad-piece': [{ id: string; blob: string; piece: number; from: string; reason: string }];
  /** A manifest failed its checks and was refused alone: from a peer's answer, or this node's own store. */
  rejected: [GenomeRejected];
  /** Local genomes changed (published, downloaded, deleted). */
  changed: [];
  /** A manifest not known before arrived (a query's answer or an import): one more genome id is known. */
  seen: [id: string];
}

/** What a part of the service may do with its emitter: raise events, not listen. */
export type GenomeEvents = Pick<EventEmitter<GenomeServiceEvents>, 'emit'>;
