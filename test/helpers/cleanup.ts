import type { TestContext } from "node:test";

const stacks = new WeakMap<TestContext, Array<() => unknown>>();

/**
 * Registers work to undo after the test, pass or fail, run in reverse order of registration: what was
 * created last goes first (a proxy before the daemon it would otherwise restart, a daemon before its home).
 */
export function onCleanup(t: TestContext, undo: () => unknown): void {
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
