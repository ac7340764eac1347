/** In-process MeshNetwork nodes on loopback (127.0.0.1, multicast named on 127.0.0.1). */
import { generateIdentity, type Identity } from '../../../../server/src/kernel/identity';
import { MemoryLog } from '../../../../server/src/kernel/log';
import { parseMeshKey, type MeshKey } from '../../../../server/src/kernel/meshKey';
import { MeshNetwork, type MeshNetworkOptions } from '../../../../server/src/net/meshNetwork';

export const testMeshKey = parseMeshKey('pmk1-' + Buffer.alloc(32, 42).toString('base64url'));
export const group = '239.255.77.77';

let nextPort = 41000 + Math.floor(Math.random() * 8000);
/** A UDP port for one test's discovery group, distinct from other tests in this run. */
export function freshPort(): number {
  nextPort += 7;
  return nextPort;
}

export interface TestNode {
  mesh: MeshNetwork;
  log: MemoryLog;
  identity: Identity;
}

export function makeNode(port: number | undefined, overrides: Partial<MeshNetworkOptions> & { key?: MeshKey } = {}): TestNode {
  const log = new MemoryLog();
  const identity = overrides.identity ?? generateIdentity().identity;
  const mesh = new MeshNetwork({
    identity,
    meshKey: overrides.key ?? testMeshKey,
    name: overrides.name ?? `node-${identity.nodeId.slice(0, 4)}`,
    listen: { host: '127.0.0.1', port: 0 },
    discovery: port === undefined ? false : { group, port, interface: '127.0.0.1', intervalMs: 500 },
    logger: log.logger,
    ...overrides,
  });
  return { mesh, log, identity };
}

export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  // Bounded by the timeout.
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function stopAll(nodes: TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.mesh.stop()));
}
