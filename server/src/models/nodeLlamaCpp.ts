/**
 * node-llama-cpp, loaded once per process on first use: it is an ES module with a native addon,
 * so a node that never touches a model never pays for it.
 */
type NodeLlamaCpp = typeof import('node-llama-cpp');

let library: Promise<NodeLlamaCpp> | undefined;

export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  return (library ??= import('node-llama-cpp'));
}
