/**
 * Waiting in tests: on a state or an event (`until`), never on a guess of how long something takes.
 * A wait that is about wall time itself (a protocol timeout being exercised) says so (`waitPast`).
 */

/**
 * As `until`, for a check that throws while the thing is not ready yet (a request to a server still
 * starting, a command not registered yet): a throw counts as "not yet", and the failure names the
 * last error.
 */
export async function untilOk<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 25): Promise<T> {
  let lastError: unknown;
  const attempt = async (): Promise<T | undefined> => {
    try {
      return await check();
    } catch (error) {
      lastError = error;
      return undefined;
    }
  };
  return until(what, attempt, timeoutMs, () => (lastError === undefined ? '' : `last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`), intervalMs);
}

/**
 * Polls `check` every 25 ms until it returns a value (anything but undefined: `false` is a value,
 * so write `() => cond || undefined`); fails naming `what` after `timeoutMs`, followed by what
 * `diagnostics` says then (the peers each node sees, its log). `check` may be async (a round trip
 * to a process that answers on its stdout).
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  diagnostics?: () => string | Promise<string>,
  /** Between checks; longer when a check is costly (a process spawned, a UI round trip). */
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const details = diagnostics ? await diagnostics() : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${details ? `\n${details}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Lets `ms` of wall time pass, for a test about a timeout of the system under test (a request
 * timeout, a probe bound): no event says "the timeout passed and nothing happened". `why` names
 * that timeout; it is for the reader, so that such a wait is never mistaken for synchronisation
 * (which waits on the event with `until`) or copied as such.
 */
export async function waitPast(ms: number, why: string): Promise<void> {
  if (!why) throw new Error('waitPast: say which timeout the wait is about');
  await new Promise((resolve) => setTimeout(resolve, ms));
}
