/**
 * Genomes: what personas share of what they learned. Declared once, imported by the server, the
 * CLI and the extension. Each declaration's comment says which way it travels.
 *
 * A genome is a signed manifest plus blobs. The manifest's id is the hex SHA-256 of its canonical
 * JSON without the signature (see server/src/genomes/manifest.ts); the publisher signs the id with
 * its node's Ed25519 identity. Every layer's data is one blob named by its SHA-256, split into
 * 256 KiB pieces whose SHA-256s the manifest lists, so a downloader checks each piece on arrival.
 *
 * On the mesh (node ↔ node):
 * - `/genome/announce` (reliable, chat priority): {@link GenomeAnnounce}, what a node holds.
 * - `/genome/query` (reliable): {@link GenomeQueryMessage}, answered by every matching node.
 * - `/genome/direct/{nodeId}` (reliable, chat priority): {@link GenomeDirect} for one node:
 *   query results, "which pieces do you have", piece requests.
 * - `/genome/piece/{nodeId}` (reliable, **bulk** priority): {@link GenomePieceMessage}, one piece
 *   for one node. Bulk traffic leaves a session after control and chat, so transfers never delay
 *   chat; downloaders keep few requests in flight per peer, which bounds the queues.
 */
import { RequestType, NotificationType, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import { boolean, integer, list, object, optional, progressToken, text, type Check } from './check';
import { ServiceError } from './errors';

export const genomeManifestVersion = 1;
export const genomePieceBytes = 256 * 1024;
export const genomeVectorDimensions = 512;

export const genomeLayerKinds = ['prompt', 'lora', 'knowledge'] as const;
export type GenomeLayerKind = (typeof genomeLayerKinds)[number];

/** One layer: its blob (hex SHA-256 of the whole data), size and piece hashes. */
export interface GenomeLayer {
  kind: GenomeLayerKind;
  blob: string;
  size: number;
  /** Hex SHA-256 of each 256 KiB piece, in order (the last may be shorter). */
  pieces: string[];
  /** `lora`: the adapter's `general.architecture` (must match the base model's). */
  architecture?: string;
  /** `lora`: the scale the publisher suggests (the persona file may override it). */
  scale?: number;
  /** `knowledge`: how many documents the blob holds. */
  documents?: number;
}

/** The blob of a `prompt` layer: UTF-8 JSON. */
export interface PromptLayerData {
  /** A fragment appended to the persona's system prompt. */
  text: string;
  examples?: { input: string; output: string }[];
}

/** The blob of a `knowledge` layer: UTF-8 JSON. */
export interface KnowledgeLayerData {
  documents: { path: string; text: string }[];
}

/** Performance as measured by the academy, with the node that measured it. */
export interface GenomeMetrics {
  /** 0..1: the publishing persona's score (lower confidence bound of its ratings). */
  score?: number;
  /** How many signals the score is based on. */
  signals?: number;
  /** Node id of the node whose academy computed these numbers. */
  measuredBy?: string;
}

/** The signed part of a manifest (the id is the hash of its canonical JSON). */
export interface GenomeManifestContent {
  v: typeof genomeManifestVersion;
  name: string;
  description: string;
  capabilities: string[];
  /** For LoRA layers: the base model they were trained for. */
  baseModel?: { architecture: string; name?: string };
  layers: GenomeLayer[];
  metrics?: GenomeMetrics;
  /** 512 numbers (feature hashing of capabilities and description), L2-normalised, 4 decimals. */
  vector: number[];
  /** Ids of the genomes this one was derived from. */
  lineage: string[];
  /** Node id of the publisher (SHA-256 of `publisherKey`, base32). */
  publisher: string;
  /** Base64 raw Ed25519 public key of the publisher. */
  publisherKey: string;
  /** Wall-clock ms when published. */
  createdAt: number;
}

/** A manifest as stored and sent: content plus the publisher's signature over the id. */
export interface GenomeManifest extends GenomeManifestContent {
  /** Base64 Ed25519 signature of `"persona-mesh/genome/v1\n" + id`. */
  signature: string;
}

/** What one node says it holds (all pieces of every blob of each genome). Node ↔ node. */
export interface GenomeAnnounce {
  genomes: string[];
}

/** A search on the mesh. */
export interface GenomeQuery {
  /** Every one of these must be among the genome's capabilities. */
  required?: string[];
  /** Raise the compatibility of genomes that have them. */
  preferred?: string[];
  /** Genomes with any of these in their capabilities or description are left out. */
  antipatterns?: string[];
  /** 0..1: results ranked below this are left out. */
  minScore?: number;
  maxResults?: number;
  /** How long to collect answers (default 1500 ms, at most 30 s). */
  timeoutMs?: number;
}

/** Node → every node on `/genome/query`. */
export interface GenomeQueryMessage {
  qid: string;
  query: GenomeQuery;
}

/** One search result (merged over the nodes that answered). */
export interface GenomeResult {
  id: string;
  manifest: GenomeManifest;
  /** Cosine of the query's and the manifest's vectors (0..1). */
  compatibility: number;
  /** What the ranking sorts by: compatibility and the academy's score. */
  rank: number;
  /** Nodes that said they hold it. */
  holders: string[];
  /** Whether this node holds it completely. */
  local: boolean;
}

/**
 * How a node answers a query within what one session message carries (1 MiB, net/session.ts; a
 * message over it is dropped whole): the manifests go in parts of at most `partBytes` of JSON
 * (a larger manifest alone), and a manifest over `maxManifestBytes` is not offered at all. With
 * 512-dim vectors, MessagePack is at most a few KiB a manifest larger than JSON.
 */
export const genomeAnswerLimits = { partBytes: 512 * 1024, maxManifestBytes: 768 * 1024 } as const;

/** Node → one node, on `/genome/direct/{nodeId}`. */
export type GenomeDirect =
  /** Answer to a query: the matching manifests this node holds; every part but the last has `more`. */
  | { t: 'results'; qid: string; manifests: GenomeManifest[]; more?: boolean }
  /** Which pieces of this blob do you have? */
  | { t: 'have?'; blob: string }
  /** The pieces of `blob` the sender has (bit i in byte i>>3, least significant first), or none. */
  | { t: 'have'; blob: string; bitmap?: Uint8Array; complete?: boolean }
  /** Please send piece `piece` of `blob` on `/genome/piece/{sender}`. */
  | { t: 'get'; blob: string; piece: number };

/** One piece (or why it cannot come), node → one node on `/genome/piece/{nodeId}`, bulk priority. */
export interface GenomePieceMessage {
  blob: string;
  piece: number;
  data?: Uint8Array;
  error?: string;
}

export const genomeTopics = {
  announce: '/genome/announce',
  query: '/genome/query',
  direct: (nodeId: string) => `/genome/direct/${nodeId}`,
  piece: (nodeId: string) => `/genome/piece/${nodeId}`,
} as const;

// ------------------------------------------------------------------ local views and events

/**
 * A manifest that failed its checks and was refused alone (the rest of its answer is kept): one a
 * peer sent (`from` is the peer), or one of this node's own store that it cannot offer (`from` is
 * this node). The CLI prints it as `{"event":"genome.rejected","from","code","reason"}`.
 */
export interface GenomeRejected {
  from: string;
  /** A GenomeErrorCode: `bad-manifest`, `bad-signature`, `too-large`. */
  code: string;
  reason: string;
}

/** A genome this node knows: held, being downloaded, or seen on the mesh. */
export interface GenomeSummary {
  id: string;
  name: string;
  description: string;
  capabilities: string[];
  size: number;
  layers: GenomeLayerKind[];
  publisher: string;
  score?: number;
  /** Node ids that announced they hold it (this node excluded). */
  seeders: number;
  local: boolean;
  /** 0..1 while downloading. */
  progress?: number;
}

export type GenomeDownloadState = 'active' | 'complete' | 'failed' | 'cancelled';

/** Progress of a download (server → client notification and CLI event). */
export interface GenomeProgress {
  id: string;
  state: GenomeDownloadState;
  bytes: number;
  totalBytes: number;
  piecesDone: number;
  pieces: number;
  /** Peers that sent at least one good piece. */
  sources: string[];
  error?: string;
}

export interface GenomePublishParams {
  name: string;
  description: string;
  capabilities: string[];
  /** Text appended to the system prompt of the persona that applies it. */
  prompt?: string;
  /** A GGUF LoRA adapter file. */
  adapter?: string;
  /** The base model (a GGUF file) the adapter is for; its architecture is checked. */
  baseModel?: string;
  /** Scale suggested for the adapter. */
  scale?: number;
  /** A folder of documents (Markdown, text, code) for the librarian. */
  knowledge?: string;
  lineage?: string[];
  metrics?: GenomeMetrics;
}

/** mesh/genomes/...: requests from the extension to its server. */
export namespace GenomeListRequest {
  /**
   * Client → server: local genomes and those seen on the mesh. Answers at once from what the node
   * knows (and asks the mesh in the background when it last did so a while ago: new answers come
   * as GenomeChangedNotification); `ask: true` waits for a fresh answer from every peer first.
   */
  export const method = 'mesh/genomes/list';
  export const type = new RequestType<{ ask?: boolean }, { local: GenomeSummary[]; network: GenomeSummary[] }, void>(method);
}

export namespace GenomeQueryRequest {
  /** Client → server: searches the mesh and waits up to `timeoutMs`. */
  export const method = 'mesh/genomes/query';
  export const type = new RequestType<GenomeQuery, GenomeResult[], void>(method);
}

export namespace GenomeDownloadRequest {
  /**
   * Client → server: downloads a genome and answers when it is complete. With a `workDoneToken`
   * the asker gets its progress as LSP work-done progress (`$/progress`: begin, reports, end);
   * cancelling the request (`$/cancelRequest`) stops the download, and the verified pieces stay
   * for a later resume. Every client also sees every download as GenomeProgressNotification.
   */
  export const method = 'mesh/genomes/download';
  export const type = new RequestType<{ id: string } & WorkDoneProgressParams, GenomeProgress, void>(method);
}

export namespace GenomeManifestRequest {
  /** Client → server: the manifest of a known genome. */
  export const method = 'mesh/genomes/manifest';
  export const type = new RequestType<{ id: string }, GenomeManifest | null, void>(method);
}

export namespace GenomePublishRequest {
  /** Client → server: builds, signs, stores and announces a genome. */
  export const method = 'mesh/genomes/publish';
  export const type = new RequestType<GenomePublishParams, GenomeSummary, void>(method);
}

export namespace GenomeDeleteRequest {
  /** Client → server: deletes the local copy (blobs no other genome uses). */
  export const method = 'mesh/genomes/delete';
  export const type = new RequestType<{ id: string }, void, void>(method);
}

export namespace GenomeApplyRequest {
  /** Client → server: records a local genome in a hosted persona's file (its layers apply at once). */
  export const method = 'mesh/genomes/apply';
  export const type = new RequestType<{ id: string; persona: string }, void, void>(method);
}

export namespace GenomeUnapplyRequest {
  /** Client → server: takes a genome out of a hosted persona's file (the persona is as before). */
  export const method = 'mesh/genomes/unapply';
  export const type = new RequestType<{ id: string; persona: string }, void, void>(method);
}

export namespace GenomePublishPersonaRequest {
  /** Client → server: publishes a hosted persona's prompt and knowledge folders as a genome. */
  export const method = 'mesh/genomes/publishPersona';
  export const type = new RequestType<{ persona: string; name?: string; adapter?: string }, GenomeSummary, void>(method);
}

export namespace GenomeChangedNotification {
  /** Server → client: the local genomes changed (published, downloaded, deleted). */
  export const method = 'mesh/genomes/changed';
  export const type = new NotificationType<Record<string, never>>(method);
}

export namespace GenomeProgressNotification {
  /** Server → client: progress of a download. */
  export const method = 'mesh/genomes/progress';
  export const type = new NotificationType<GenomeProgress>(method);
}

// ---------------------------------------------------------------- checkers of the params

/** A genome's id: the hex SHA-256 of its manifest's canonical JSON. */
export const genomeIdPattern = /^[0-9a-f]{64}$/;

/** What a manifest may hold: a receiver refuses more (server/src/genomes/manifest.ts checks manifests from the mesh and the CLI's publish with it). */
export const genomeManifestLimits = { nameChars: 200, descriptionChars: 4000, capabilities: 64, capabilityChars: 100, lineage: 64, scale: 100 } as const;

/** What a search may ask (server/src/genomes/matching.ts bounds a query from the mesh with it too). */
export const genomeQueryLimits = { terms: 64, termChars: 100, maxResults: 200, maxTimeoutMs: 30_000 } as const;

/** Persona ids are at most 64 characters (server/src/personas/schema.ts); an unknown one is "not hosted". */
const maxPersonaIdChars = 64;

/** A finite number from `min` to `max` (NaN and Infinity do not survive JSON). */
function finiteNumber(min: number, max: number): Check<number> {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) throw new ServiceError('invalid', `${name} must be a number from ${min} to ${max}`);
    return value;
  };
}

const genomeId = text({ max: 64, pattern: genomeIdPattern, hint: (value) => `"${value.slice(0, 80)}" is not a genome id` });
const personaId = text({ max: maxPersonaIdChars, singleLine: true });
/** Text the service bounds itself: a prompt (by the genome's size) or a file on this node (empty = none). */
const anyText = text({ max: Number.MAX_SAFE_INTEGER, allowEmpty: true });
const terms = list(text({ max: genomeQueryLimits.termChars, allowEmpty: true }), genomeQueryLimits.terms, 'a capability');

export const genomeParams = {
  list: optional(object({ ask: optional(boolean) })),
  query: optional(
    object(
      {
        required: optional(terms),
        preferred: optional(terms),
        antipatterns: optional(terms),
        minScore: optional(finiteNumber(0, 1)),
        maxResults: optional(integer(1, genomeQueryLimits.maxResults)),
        timeoutMs: optional(integer(0, genomeQueryLimits.maxTimeoutMs)),
      },
      { required: 'the required capabilities', preferred: 'the preferred capabilities', antipatterns: 'the antipatterns', minScore: 'the minimum score', maxResults: 'the most results', timeoutMs: 'the timeout' },
    ),
  ),
  /** manifest, delete. */
  id: object({ id: genomeId }, { id: 'the genome id' }),
  download: object({ id: genomeId, workDoneToken: optional(progressToken) }, { id: 'the genome id', workDoneToken: 'the progress token' }),
  publish: object(
    {
      name: text({ max: genomeManifestLimits.nameChars, allowEmpty: true }),
      description: text({ max: genomeManifestLimits.descriptionChars, allowEmpty: true }),
      capabilities: list(text({ max: genomeManifestLimits.capabilityChars, allowEmpty: true }), genomeManifestLimits.capabilities, 'a capability'),
      prompt: optional(anyText),
      adapter: optional(anyText),
      baseModel: optional(anyText),
      scale: optional(finiteNumber(-genomeManifestLimits.scale, genomeManifestLimits.scale)),
      knowledge: optional(anyText),
      lineage: optional(list(genomeId, genomeManifestLimits.lineage, 'a genome id')),
      metrics: optional(
        object(
          { score: optional(finiteNumber(0, 1)), signals: optional(finiteNumber(0, Number.MAX_SAFE_INTEGER)), measuredBy: optional(text({ max: 64, singleLine: true, allowEmpty: true })) },
          { score: 'the score', signals: 'the number of signals', measuredBy: 'the measuring node' },
        ),
      ),
    },
    { name: 'the name', description: 'the description', capabilities: 'the capabilities', prompt: 'the prompt', adapter: 'the adapter', baseModel: 'the base model', scale: 'the scale', knowledge: 'the knowledge folder', lineage: 'the lineage', metrics: 'the metrics' },
  ),
  publishPersona: object(
    { persona: personaId, name: optional(text({ max: genomeManifestLimits.nameChars, allowEmpty: true })), adapter: optional(anyText) },
    { persona: 'the persona id', name: 'the name', adapter: 'the adapter' },
  ),
  /** apply, unapply. */
  apply: object({ id: genomeId, persona: personaId }, { id: 'the genome id', persona: 'the persona id' }),
} satisfies Record<string, Check<unknown>>;
