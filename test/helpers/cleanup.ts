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
      while (created.length) await created.pop()!();
    });
  }
  stack.push(undo);
}
