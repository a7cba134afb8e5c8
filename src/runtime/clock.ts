/** Time as the daemon core and the supervisor see it: the real one, or a test's, moved by hand. */
export interface Clock {
  now(): number;
  setTimeout(run: () => void, ms: number): Timer;
  clearTimeout(timer: Timer | undefined): void;
}

/** A pending timer, as `Clock.setTimeout` returns it. */
export interface Timer {
  /** Does not keep the process alive on its own. */
  unref(): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
