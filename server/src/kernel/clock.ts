/** Time and timers, injected so tests can drive them and components can release them on stop. */
export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds, for durations and timeouts. */
  monotonic(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  setInterval(callback: () => void, ms: number): TimerHandle;
}

export interface TimerHandle {
  cancel(): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    return { cancel: () => clearTimeout(timer) };
  },
  setInterval(callback, ms) {
    const timer = setInterval(callback, ms);
    return { cancel: () => clearInterval(timer) };
  },
};

/** Randomness, injected for deterministic tests (jitter, ids). */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  bytes(length: number): Buffer;
}
