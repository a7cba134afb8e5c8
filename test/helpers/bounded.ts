/** How long a test waits for one thing to happen before it fails, saying what it waited for. */
export const WAIT_MS = 30_000;

/** `promise`, or a failure naming `what` if it has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks `condition` every `everyMs` until it holds, failing after `ms` with `what`. For states no event reports,
 * such as another process's exit (only a parent hears of its own child's).
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = WAIT_MS, everyMs = 20): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
