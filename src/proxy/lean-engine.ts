import { setFlagsFromString } from "node:v8";

let lean = false;

/**
 * A proxy is one of many (a session per client window per server) and spends its life relaying lines: V8's
 * optimizing compilers and a young generation grown for a busy process cost it more memory than they save time.
 * Measured after 3,300 calls over the session socket (docs/benchmarks.md): without TurboFan and Maglev the proxy
 * touches 4 MiB less of Node's binary and holds 3 MiB less of its own; a young generation kept at its size holds
 * 1.3 MiB less. The price is some 50 us per call (Node's stream code runs interpreted). Over HTTP, whose client
 * code is far heavier per call, it would be 0.2 ms: there the engine is left as it is.
 *
 * Called once the session's way is the session socket, when every module it needs is loaded: V8 turns Node's
 * cached code for built-in modules away once flags change. Nothing is hot enough to be optimized by then.
 */
export function useLeanEngine(): void {
  if (lean) return;
  lean = true;
  setFlagsFromString("--no-turbofan");
  setFlagsFromString("--no-maglev");
  setFlagsFromString("--semi-space-growth-factor=1");
}
