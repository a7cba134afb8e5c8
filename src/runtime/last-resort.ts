/** Unexpected errors in this window, past which the process no longer trusts its own state. */
const WINDOW_MS = 60_000;
const MAX_IN_WINDOW = 10;

/**
 * The last resort of a daemon or the manager: an exception that escaped a handler, timer or socket callback.
 * One is logged and the process keeps serving: each session's and request's state is its own, and exiting would
 * fail every other session's calls in flight, the harm this exists to prevent. A burst of them says the state
 * is no longer known: the process then exits (code 70), and its supervisor (the manager, or the proxies that
 * start daemons) brings up a fresh one.
 */
export function installLastResort(log: (line: string) => void, now: () => number = Date.now): void {
  const recent: number[] = [];
  const handle = (kind: string, error: unknown) => {
    const at = now();
    recent.push(at);
    while (recent.length && recent[0]! < at - WINDOW_MS) recent.shift();
    log(`unexpected ${kind} (serving on): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (recent.length > MAX_IN_WINDOW) {
      log(`${recent.length} unexpected errors within ${WINDOW_MS / 1000} s: exiting, to be started afresh`);
      process.exit(70);
    }
  };
  process.on("uncaughtException", (error) => handle("error", error));
  process.on("unhandledRejection", (reason) => handle("rejection", reason));
}
