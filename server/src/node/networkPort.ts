/**
 * MeshPort over the real mesh (MeshNetwork). Messages for one node (sync, genome and academy
 * requests) are addressed envelopes on a topic only that node subscribes to (`/chat/sync/{nodeId}`,
 * ...): they reach it directly or through a neighbour of it, on the reliable lane.
 */
import type { MeshNetwork } from '../net/meshNetwork';
import type { MeshPort, PortMessage, PortPublishOptions } from '../kernel/meshPort';

/** The part of MeshNetwork the adapter uses. */
export type MeshLike = Pick<MeshNetwork, 'nodeId' | 'publish' | 'sendTo' | 'subscribe' | 'upPeers' | 'on' | 'off'>;

export class NetworkMeshPort implements MeshPort {
  readonly localNodeId: string;

  constructor(private readonly mesh: MeshLike) {
    this.localNodeId = mesh.nodeId;
  }

  publish(topic: string, body: unknown, options: PortPublishOptions = {}): void {
    this.mesh.publish(topic, body, options.priority ? { priority: options.priority } : {});
  }

  subscribe(prefix: string, handler: (message: PortMessage) => void): () => void {
    return this.mesh.subscribe(prefix, (message) => handler({ topic: message.topic, body: message.body, from: message.from }));
  }

  sendTo(nodeId: string, topic: string, body: unknown, options: PortPublishOptions = {}): void {
    this.mesh.sendTo(nodeId, topic, body, { priority: options.priority ?? 'chat' });
  }

  onPeerUp(handler: (nodeId: string) => void): () => void {
    const listener = ({ nodeId }: { nodeId: string }) => handler(nodeId);
    this.mesh.on('peer.up', listener);
    return () => void this.mesh.off('peer.up', listener);
  }

  onPeerDown(handler: (nodeId: string) => void): () => void {
    const listener = ({ nodeId }: { nodeId: string }) => handler(nodeId);
    this.mesh.on('peer.down', listener);
    return () => void this.mesh.off('peer.down', listener);
  }

  upPeers(): string[] {
    return this.mesh.upPeers();
  }
}
