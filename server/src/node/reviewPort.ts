/** The review side of a running MeshNode: the port the root hands to registerReviewHandlers. */
import type { MeshNode } from './meshNode';
import type { ReviewNode } from '../review/rpcHandlers';

export function reviewNodeOf(node: MeshNode): ReviewNode {
  return {
    nodeId: node.identity.nodeId,
    get brains() {
      return node.personas?.participation;
    },
    personaName: (key) => node.personas?.directory.all().find((p) => `${p.nodeId}/${p.id}` === key)?.name,
    get academy() {
      return node.academy;
    },
    call: (nodeId, method, params, options) => {
      const network = node.network;
      if (!network) return Promise.reject(new Error('this node is not on a mesh: set the mesh key first'));
      return network.call(nodeId, method, params, options);
    },
  };
}
