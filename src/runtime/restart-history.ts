/** A restart, or a crash that led to one (or to giving up), and when. */
export interface RestartEvent {
  at: number;
  reason: string;
}

/** Restarts remembered per daemon or child: enough to see a pattern, never a growing list. */
const KEPT = 20;

/** The last restarts of one supervised process and why, newest last: what status shows to answer "why did it restart". */
export class RestartHistory {
  private readonly events: RestartEvent[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  record(reason: string): void {
    this.events.push({ at: this.now(), reason });
    if (this.events.length > KEPT) this.events.shift();
  }

  list(): RestartEvent[] {
    return [...this.events];
  }
}
