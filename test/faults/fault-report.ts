import { appendFileSync } from "node:fs";

/** What one fault scenario tried, how much load it held, and the violations found (which must be zero). */
export interface FaultReport {
  fault: string;
  load: string;
  violations: string[];
}

/**
 * Prints the scenario's line (the suite's output is what docs/reliability.md summarizes) and, when
 * FAULT_REPORT names a file, appends it there as JSON.
 */
export function report(result: FaultReport): void {
  const line = `FAULT ${result.fault}: ${result.load}; violations: ${result.violations.length}`;
  process.stdout.write(`${line}\n`);
  for (const violation of result.violations.slice(0, 20)) process.stdout.write(`  ${violation}\n`);
  if (process.env.FAULT_REPORT) appendFileSync(process.env.FAULT_REPORT, JSON.stringify(result) + "\n");
}

/** A small seeded generator, so a failing run can be repeated exactly (FAULT_SEED). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEED = Number(process.env.FAULT_SEED ?? 20261122);
