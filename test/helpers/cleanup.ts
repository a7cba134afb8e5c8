import { after } from "node:test";

/** What cleanups belong to: a test's context (`t`), or a whole suite (see `suiteScope`). */
export interface CleanupScope {
  after(fn: () => unknown): void;
}

const stacks = new WeakMap<CleanupScope, Array<() => unknown>>();

/**
 * Registers work to undo after the test, pass or fail, run in reverse order of registration: what was
 * created last goes first (a proxy before the daemon it would otherwise restart, a daemon before its home).
 */
export function onCleanup(t: CleanupScope, undo: () => unknown): void {
  let stack = stacks.get(t);
  if (!stack) {
    const created: Array<() => unknown> = [];
    stacks.set(t, created);
    stack = created;
    t.after(async () => {
      // Every undo runs even when one fails (a leaked process must not follow a failed removal); the first
      // failure is reported once all have run.
      const failures: unknown[] = [];
      while (created.length) {
        try {
          await created.pop()!();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length) throw failures[0];
    });
  }
  stack.push(undo);
}

/**
 * A scope for what every test of a suite shares (a server they all talk to), undone when the suite ends, pass
 * or fail. Call it in the `describe` body: that is where node:test takes the suite's `after` hook.
 */
export function suiteScope(): CleanupScope {
  const undo: Array<() => unknown> = [];
  after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  return { after: (fn) => undo.push(fn) };
}
