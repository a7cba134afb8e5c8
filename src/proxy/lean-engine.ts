import { setFlagsFromString } from "node:v8";

let lean = false;

/**
 * A proxy is one of many (a session per client window per server) and spends its life relaying lines: V8's
 * compilers and a young generation grown for a busy process cost it more memory than they save time. Measured
 * after 3,300 calls (docs/benchmarks.md):
 * - a young generation kept at its first size holds 1.3 MiB less over the session socket, 6 MiB less over HTTP;
 * - without TurboFan and Maglev the proxy touches 4 MiB less of Node's binary and holds 3 MiB less of its own,
 *   for some 50 us a call over the session socket (Node's stream code runs interpreted);
 * - over HTTP, `node:http` leaves far more garbage a call: sizing the heap for memory rather than speed and
 *   leaving out the baseline compiler too brings that proxy from 62 / 20 MiB to 49 / 12 MiB, for some 0.15 - 0.2 ms a
 *   call. Over the session socket those two move little and are left on.
 *
 * Called once the session's way is known, when every module it needs is loaded: V8 turns Node's cached code for
 * built-in modules away once flags change. Nothing is hot enough to be compiled by then.
 */
export function useLeanEngine(way: "session-socket" | "http"): void {
  if (lean) return;
  lean = true;
  setFlagsFromString("--semi-space-growth-factor=1");
  setFlagsFromString("--no-turbofan");
  setFlagsFromString("--no-maglev");
  if (way === "session-socket") return;
  setFlagsFromString("--no-sparkplug");
  setFlagsFromString("--optimize-for-size");
}
