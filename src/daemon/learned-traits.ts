import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What a daemon learned about its server by watching it, kept in the home across restarts. */
interface Traits {
  /** It sends requests to its clients (roots/list, sampling, elicitation...). */
  asksClients?: { method: string; at: string };
}

/**
 * What a daemon learns about its server that decides how it may be shared. A server that asks its clients
 * things (their roots, a sampling, an elicitation) works for one client at a time: sharing it, it could act on
 * one session's roots for another, and the daemon could not always tell whom to ask. Once seen asking, its later
 * sessions get children of their own (see ScopePool), from the first session after a restart too, since what was
 * learned is kept in `<home>/<name>.learned.json`.
 */
export class LearnedTraits {
  private traits: Traits;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {
    this.traits = read(file);
  }

  static of(home: string, name: string, log: (line: string) => void): LearnedTraits {
    return new LearnedTraits(join(home, `${name}.learned.json`), log);
  }

  get asksClients(): boolean {
    return this.traits.asksClients !== undefined;
  }

  /** The server sent `method` to a client: noted once, and kept. */
  sawRequest(method: string): void {
    if (this.asksClients) return;
    this.traits = { ...this.traits, asksClients: { method, at: new Date().toISOString() } };
    this.log(`the server asks its clients (${method}): from now on each new session gets a child of its own`);
    try {
      writeFileSync(this.file, JSON.stringify(this.traits, null, 2) + "\n", { mode: 0o600 });
    } catch (error) {
      this.log(`could not keep what was learned in ${this.file}: ${(error as Error).message}`);
    }
  }

  /** For status: what was learned, if anything. */
  summary(): Traits {
    return this.traits;
  }
}

function read(file: string): Traits {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Traits;
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}
