/**
 * Node ↔ node wire protocol: every type that travels between mesh nodes is declared here, once.
 *
 * Layers, outermost first:
 *
 * - UDP datagrams on the discovery group (default 239.255.77.77:47777, TTL 1). The first byte
 *   says what follows: a beacon (`DatagramKind.beacon`, MessagePack {@link Beacon} + HMAC-SHA256)
 *   or a fast-lane datagram (`DatagramKind.fast`, {@link FastLaneHeader} + ChaCha20-Poly1305
 *   ciphertext of one {@link Envelope}).
 * - TCP sessions. Handshake messages are u32-length-prefixed Noise XX messages
 *   (Noise_XX_25519_ChaChaPoly_BLAKE2b); the responder's and initiator's payloads are a
 *   MessagePack {@link HandshakePayload}. After the handshake every frame is
 *   `u32 length | flags u8 | ciphertext | tag(16)` sealed with ChaCha20-Poly1305 (counter nonces,
 *   one key per direction, flags bit 0 = key phase). The plaintext of a frame is a batch:
 *   MessagePack SessionMessages back to back (each value delimits itself, so one decoder pass
 *   reads the whole batch). Session messages are MessagePack maps, except `env`, the hot path,
 *   which travels as an {@link EnvelopeTuple} (an array: no keys).
 * - {@link Envelope}s carried in `env` session messages: published events and JSON-RPC 2.0
 *   remote commands.
 */

import type { OverlayMessage } from './overlay';

/**
 * 2: `env` messages as arrays and batches without length prefixes (version 1 nodes are refused at
 * the handshake). 3: the handshake payload carries `started`, so every node can tell which of two
 * live instances of one node id started later. 4: a bounded-degree overlay (HyParView membership
 * and Plumtree broadcast in `ov` messages; events travel several hops). 5: clusters (a version 4
 * node closed the session on their `cl.*` overlay messages; now it is refused at the handshake
 * with "unsupported protocol version").
 */
export const meshProtocolVersion = 5;

/** The most hops an envelope may carry (the node starts its own with 32; see meshNetwork.ts). */
export const maxEnvelopeHops = 64;

/** A node id: the base32 SHA-256 of its Ed25519 public key (52 characters A-Z, 2-7). */
export const nodeIdPattern = /^[A-Z2-7]{52}$/;

/** Defaults of the discovery group; settings `personaMesh.discovery.*` override them. */
export const defaultDiscoveryGroup = '239.255.77.77';
export const defaultDiscoveryPort = 47777;
export const defaultBeaconIntervalMs = 2000;

/** First byte of every UDP datagram on the discovery port. */
export const DatagramKind = {
  beacon: 0x42, // 'B'
  fast: 0x46, // 'F'
} as const;

/** Largest datagram we send or accept (fits in any Ethernet MTU, no IP fragmentation). */
export const maxDatagramBytes = 1200;

/**
 * A discovery beacon. Sent every `intervalMs` (three in the first second), authenticated with
 * HMAC-SHA256 under `deriveKey(meshKey, 'beacon-hmac')`. `counter` rises per `instance` (a random
 * id per start), `ts` is the sender's wall clock in ms; receivers drop replays (counter not above
 * the last seen) and beacons more than 30 s off. `bye` marks the goodbye beacon sent on stop.
 */
export interface Beacon {
  v: typeof meshProtocolVersion;
  nodeId: string;
  instance: string;
  counter: number;
  ts: number;
  /** `host:port` of the TCP listener; a host of `0.0.0.0` means "the address this came from". */
  tcp: string;
  name: string;
  bye?: boolean;
  /** The sender's beacon interval now (ms): it grows while nothing changes (Trickle). */
  iv?: number;
  /** The sender's explicit cluster label (`--cluster`); absent, its cluster is its address's /24. */
  cl?: string;
}

/**
 * Header of a fast-lane datagram, after the kind byte: the sender's raw node id (32 bytes), its
 * instance (8 bytes) and a u64 counter (big-endian). The header is the AEAD's associated data; the
 * key is derived per sender from the group key, the node id and the instance, and the nonce is
 * the counter, so no two senders (or two starts of one sender) ever share a key and nonce.
 */
export interface FastLaneHeader {
  nodeId: string;
  instance: string;
  counter: number;
}
export const fastLaneHeaderBytes = 1 + 32 + 8 + 8;

/**
 * The payload of the responder's (2nd) and the initiator's (3rd) Noise XX message. `key` is the
 * 32-byte Ed25519 identity public key, `sig` its signature over
 * `"persona-mesh/noise-static/v1" || noiseStaticPublicKey`, so the node id (hash of `key`) is bound
 * to the Noise session. `instance` identifies this start of the node and `started` is the wall
 * clock (ms) of that start: of two live instances of one node id (a copied data folder), the one
 * that started later (ties: the greater instance) is refused.
 */
export interface HandshakePayload {
  v: typeof meshProtocolVersion;
  key: Uint8Array;
  sig: Uint8Array;
  instance: string;
  started: number;
}
export const handshakeSignatureContext = 'persona-mesh/noise-static/v1';

/** Order in which queued traffic leaves a session: control, then chat, then bulk. */
export type Priority = 'control' | 'chat' | 'bulk';
/** Reliable lane = TCP sessions; fast lane = sealed multicast datagrams that may be lost. */
export type Lane = 'reliable' | 'fast';

/**
 * A routed message. `origin` is the node that created it, `seq` rises strictly per origin (it
 * starts from the wall clock in µs, so it keeps rising across restarts; it is not contiguous), `id`
 * is unique (`origin:seq` in base 36). `hops` counts down on each forward. `to` addresses a single
 * node (remote commands); without it the envelope goes to every subscriber of `topic`.
 */
export interface Envelope {
  type: 'event' | 'rpc';
  id: string;
  origin: string;
  seq: number;
  ts: number;
  topic: string;
  body: unknown;
  hops?: number;
  to?: string;
  /** Sent on the fast lane (or its fallback over a session): lossy, de-duplicated apart. */
  fast?: boolean;
  /**
   * The priority it was queued with, when not chat. A session sends control before chat before
   * bulk, so one class overtakes another: per-sender order holds within each class, and a
   * receiver keeps one order per (origin, class).
   */
  prio?: 'control' | 'bulk';
}

/** A known peer address, as told by peer exchange. */
export interface PeerAddress {
  nodeId: string;
  /** `host:port` of its TCP listener. */
  addr: string;
}

/** Messages inside a session's sealed batches. */
export type SessionMessage =
  /** First message on each side after the handshake. */
  | { t: 'hello'; name: string; listen: string; subs: string[]; multicast: boolean }
  | { t: 'ping'; n: number; ts: number }
  /** `w`: the answering node's wall clock (ms), for the clock offset between the two. */
  | { t: 'pong'; n: number; ts: number; w?: number }
  /** Subscription changes (topic prefixes). */
  | { t: 'subs'; add: string[]; remove: string[] }
  /** Peer exchange: addresses we know, and the node ids we hold sessions with. */
  | { t: 'px'; peers: PeerAddress[]; neighbors: string[] }
  | { t: 'env'; e: Envelope }
  /** Overlay membership and broadcast control (protocol/overlay.ts). */
  | { t: 'ov'; m: OverlayMessage }
  /**
   * Sent before closing on purpose (`stop`, `duplicate`, ...). `duplicate-identity`: the receiver
   * is the later of two live instances of one node id and must leave the mesh; `running` is where
   * the instance that stays accepts sessions, when the sender knows.
   */
  | { t: 'bye'; reason: string; running?: string };

export type SessionMessageType = SessionMessage['t'];

/** The `bye` reason that tells the later of two live instances of one node id to leave. */
export const duplicateIdentityReason = 'duplicate-identity';

/**
 * Wire form of `{t: 'env', e}`: a MessagePack array
 * `['env', type, id, origin, seq, ts, topic, body, hops?, to?, fast?]`. The trailing optional
 * fields are left out when absent, and `null` when a later one is present. Receivers read it back
 * into an {@link Envelope} (then check it) before routing.
 */
export type EnvelopeTuple = [
  kind: 'env',
  type: Envelope['type'],
  id: string,
  origin: string,
  seq: number,
  ts: number,
  topic: string,
  body: unknown,
  hops?: number | null,
  to?: string | null,
  fast?: boolean | null,
];

/** Topic helpers. Topics are `/`-separated; subscriptions match by prefix. */
export const topics = {
  chatRoomEvent: (roomId: string, eventType: string) => `/chat/room/${roomId}/events/${eventType}`,
  chatRoom: (roomId: string) => `/chat/room/${roomId}/`,
  presence: (what: string) => `/presence/${what}`,
  academy: (what: string) => `/academy/${what}`,
  genome: (what: string) => `/genome/${what}`,
  remoteCommand: (nodeId: string, method: string) => `/remote/${nodeId}/commands/${method}`,
  remoteReply: (nodeId: string) => `/remote/${nodeId}/replies`,
  remotePrefix: (nodeId: string) => `/remote/${nodeId}/`,
} as const;

/** Remote commands every peer may call unless the allow-list says otherwise. */
export const defaultAllowedMethods: readonly string[] = ['ping', 'node.info', 'rooms.list', 'personas.list', 'genomes.list'];

/** JSON-RPC error code answered for a method outside the caller's allow-list. */
export const rpcNotAllowedCode = -32001;
export const rpcNotAllowedMessage = 'not allowed';
