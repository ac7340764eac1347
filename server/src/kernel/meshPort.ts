/**
 * The node-wide mesh port: what every service (rooms, personas, genomes, academy, challenges)
 * needs from the mesh, and nothing more. node/networkPort.ts adapts MeshNetwork to it,
 * switchablePort.ts lets it outlive a network, and tests use the in-memory hub of
 * test/support/memoryMeshPort.ts.
 */

export interface PortMessage {
  topic: string;
  body: unknown;
  /** Node id of the node that published it (authenticated by its session). */
  from: string;
}

export interface PortPublishOptions {
  /** Sync batches go after chat and control traffic so a catch-up never delays a live message. */
  priority?: 'chat' | 'bulk';
}

export interface MeshPort {
  readonly localNodeId: string;
  /** Sends to every peer subscribed to a prefix of `topic` (lane chosen by topic). */
  publish(topic: string, body: unknown, options?: PortPublishOptions): void;
  /** Receives messages whose topic starts with `prefix`; returns the unsubscribe function. */
  subscribe(prefix: string, handler: (message: PortMessage) => void): () => void;
  /**
   * Sends to one node (anti-entropy, requests), reliable, to its subscribers of `topic`. Unlike
   * `publish`, it is never dropped for arriving after a later message of ours.
   */
  sendTo(nodeId: string, topic: string, body: unknown, options?: PortPublishOptions): void;
  onPeerUp(handler: (nodeId: string) => void): () => void;
  onPeerDown(handler: (nodeId: string) => void): () => void;
  /** Node ids of the peers currently up. */
  upPeers(): string[];
}
