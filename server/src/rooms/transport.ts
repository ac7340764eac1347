/**
 * What the rooms layer needs from the mesh, and nothing more. MeshNetwork is adapted to it in
 * meshTransport.ts; tests use the in-memory hub of memoryTransport.ts.
 */

export interface TransportMessage {
  topic: string;
  body: unknown;
  /** Node id of the node that published it (authenticated by its session). */
  from: string;
}

export interface TransportPublishOptions {
  /** Sync batches go after chat and control traffic so a catch-up never delays a live message. */
  priority?: 'chat' | 'bulk';
}

export interface RoomTransport {
  readonly localNodeId: string;
  /** Sends to every peer subscribed to a prefix of `topic` (lane chosen by topic). */
  publish(topic: string, body: unknown, options?: TransportPublishOptions): void;
  /** Receives messages whose topic starts with `prefix`; returns the unsubscribe function. */
  subscribe(prefix: string, handler: (message: TransportMessage) => void): () => void;
  /**
   * Sends to one node (anti-entropy, requests), reliable, to its subscribers of `topic`. Unlike
   * `publish`, it is never dropped for arriving after a later message of ours.
   */
  sendTo(nodeId: string, topic: string, body: unknown, options?: TransportPublishOptions): void;
  onPeerUp(handler: (nodeId: string) => void): () => void;
  onPeerDown(handler: (nodeId: string) => void): () => void;
  /** Node ids of the peers currently up. */
  upPeers(): string[];
}
