import type { ServerResponse } from "node:http";
import { LogFollower } from "../../logging/log-follower.js";
import type { StatusSnapshot } from "../status-snapshot.js";

/** Pages watching at once; one more is refused (a page re-opened in a loop must not grow the manager). */
const MAX_WATCHERS = 20;
/** A page that reads slower than this is behind for good: it is disconnected and reconnects with a fresh state. */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
/** Lines of a log a page sees when it starts following it. */
const TAIL_LINES = 200;

interface Watcher {
  response: ServerResponse;
  log?: LogFollower;
}

/**
 * The live feed behind the status page: while at least one page watches, one snapshot a second (the same data
 * as `/status`) goes to every page, with the lines appended to the log each page follows. Nothing is polled
 * while nobody watches, and however many pages watch, the daemons are asked once per round.
 */
export class StatusFeed {
  private readonly watchers = new Set<Watcher>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  /** The last snapshot sent, and when: a page that opens meanwhile gets it at once. */
  private last: { text: string; at: number } | undefined;

  constructor(
    private readonly snapshot: () => Promise<StatusSnapshot>,
    private readonly intervalMs = 1000,
  ) {}

  /** Streams to `response` until it closes; `logFile` is the log it follows, if any. False when too many watch. */
  watch(response: ServerResponse, logFile: string | undefined, headers: Record<string, string>): boolean {
    if (this.watchers.size >= MAX_WATCHERS) return false;
    response.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-store" });
    const watcher: Watcher = { response };
    if (logFile !== undefined) {
      watcher.log = new LogFollower(logFile);
      let lines: string[];
      try {
        lines = watcher.log.last(TAIL_LINES);
      } catch {
        lines = [`(no log yet at ${logFile})`];
      }
      send(response, "log", JSON.stringify(lines));
    }
    if (this.last && Date.now() - this.last.at < this.intervalMs) send(response, "status", this.last.text);
    this.watchers.add(watcher);
    response.on("close", () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) this.pause();
    });
    if (!this.timer) void this.tick(); // the state at once, not a second later
    this.timer ??= setInterval(() => void this.tick(), this.intervalMs);
    return true;
  }

  /** Ends every stream (the manager is stopping). */
  close(): void {
    for (const watcher of this.watchers) watcher.response.end();
    this.watchers.clear();
    this.pause();
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: a snapshot for all; a round still under way (a slow daemon) is not doubled. */
  private tick(): Promise<void> {
    this.round ??= this.snapshot()
      .then((snapshot) => {
        const text = JSON.stringify(snapshot);
        this.last = { text, at: Date.now() };
        for (const watcher of this.watchers) {
          send(watcher.response, "status", text);
          try {
            const lines = watcher.log?.more() ?? [];
            if (lines.length > 0) send(watcher.response, "log", JSON.stringify(lines));
          } catch (error) {
            // This page's log only (unreadable now): the others, and this page's status, go on.
            send(watcher.response, "log", JSON.stringify([`(the log cannot be read: ${(error as Error).message})`]));
            delete watcher.log;
          }
          if (watcher.response.writableLength > MAX_UNREAD_BYTES) watcher.response.destroy();
        }
      })
      .catch((error: Error) => {
        for (const watcher of this.watchers) send(watcher.response, "failure", JSON.stringify(error.message));
      })
      .finally(() => (this.round = undefined));
    return this.round;
  }
}

function send(response: ServerResponse, event: string, data: string): void {
  if (!response.destroyed) response.write(`event: ${event}\ndata: ${data}\n\n`);
}
