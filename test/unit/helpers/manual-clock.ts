import type { Clock, Timer } from "../../../src/runtime/clock.js";

interface Scheduled extends Timer {
  at: number;
  run: () => void;
}

/** A clock that moves only when the test says so: timers fire in order as `advance` passes their time. */
export class ManualClock implements Clock {
  private time = 1_000_000;
  private timers: Scheduled[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): Timer {
    const timer: Scheduled = { at: this.time + Math.max(0, ms), run, unref: () => timer };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    this.timers = this.timers.filter((scheduled) => scheduled !== timer);
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing every timer that falls due on the way (and those they schedule). */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.run();
    }
    this.time = until;
  }
}
