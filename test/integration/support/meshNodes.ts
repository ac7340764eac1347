import { MeshNode, type MeshNodeOptions } from '../../../server/src/node/meshNode';
import { silentLogger } from '../../../server/src/kernel/log';
import type { NetworkSettings } from '../../../protocol/status';

/** Sessions on loopback only, no discovery: `peers` are dialled directly. */
export function loopbackNetwork(peers: string[] = []): NetworkSettings {
  return { listen: '127.0.0.1:0', discovery: false, staticPeers: peers, trustedNodes: [] };
}

/** Starts real MeshNodes (silent, headless unless told) and stops them after each test, last first. */
export function useMeshNodes(): { start(options: Omit<MeshNodeOptions, 'logger'> & Partial<Pick<MeshNodeOptions, 'logger'>>): Promise<MeshNode> } {
  const nodes: MeshNode[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0).reverse()) await node.stop();
  });
  return {
    async start(options) {
      const node = new MeshNode({ logger: silentLogger, headless: true, ...options });
      nodes.push(node);
      await node.start();
      return node;
    },
  };
}
