/**
 * Root hook: fails the run when a test file leaves sockets, servers or timers behind. Components
 * promise that stop() frees every handle; this is where that promise is checked.
 */
const watched = new Set(['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'Timeout', 'Immediate', 'PipeWrap', 'ProcessWrap', 'FSEventWrap', 'StatWatcher']);

function openHandles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (watched.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

let baseline = new Map<string, number>();

function settle(): Promise<void> {
  // Closed sockets leave the handle list only after their close callbacks have run.
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), 50));
}

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await settle();
    baseline = openHandles();
  },
  async afterAll(): Promise<void> {
    await settle();
    const leaked: string[] = [];
    for (const [kind, count] of openHandles()) {
      const extra = count - (baseline.get(kind) ?? 0);
      if (extra > 0) leaked.push(`${extra} x ${kind}`);
    }
    if (leaked.length > 0) throw new Error(`leaked handles after the suite: ${leaked.join(', ')}`);
  },
};
