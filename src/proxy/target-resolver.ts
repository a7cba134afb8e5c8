import { resolve } from "node:path";
import { checkedOrLastGood } from "../config/checked-config.js";
import { ConfigError } from "../config/config-error.js";
import { findServer, type Config } from "../config/server-config.js";
import { homeDir } from "../config/paths.js";
import type { HttpTransport } from "../config/transports.js";
import type { ProxyArguments } from "./arguments.js";
import type { DaemonTarget } from "./daemon-starter.js";

export interface ResolvedTarget {
  target: DaemonTarget;
  transport: HttpTransport;
}

/**
 * What a proxy connects to: its `--url`, or its `--target`'s entry in the config, resolved afresh on every
 * connect so that a fixed config file is picked up without restarting the client. While the file does not load
 * (someone is editing it), a session that already connected keeps the entry it last had: reconnecting after a
 * daemon restart must not depend on a half-saved file.
 */
export class TargetResolver {
  private lastGood: ResolvedTarget | undefined;

  constructor(
    private readonly options: ProxyArguments,
    private readonly project: string,
    private readonly log: (line: string) => void,
  ) {}

  async resolve(): Promise<ResolvedTarget> {
    const { options } = this;
    if (options.url) {
      return { target: { kind: "url", url: options.url, startTimeoutMs: options.startTimeoutMs }, transport: options.transport };
    }
    let loaded;
    try {
      loaded = await checkedOrLastGood(options.config);
    } catch (error) {
      // A file that does not parse or check is being edited; one that is gone or unreadable is not a config to keep.
      if (!(error instanceof ConfigError) || error.problem === "unreadable" || !this.lastGood) throw error;
      this.log(`${error.message}; this session keeps the entry it had`);
      return this.lastGood;
    }
    const { config, broken } = loaded;
    if (broken && this.lastGood) {
      this.log(`${broken.message}; this session keeps the entry it had`);
      return this.lastGood;
    }
    // A new session while the file is being edited starts as the manager goes on: on the last good config.
    if (broken) this.log(`${broken.message}; this session starts on the last good config of that file`);
    // Cleared first: a good file that no longer names the server (targetIn throws) leaves nothing to keep.
    this.lastGood = undefined;
    this.lastGood = this.targetIn(config);
    return this.lastGood;
  }

  /** The `--target` server of `config`, as the proxy reaches it. */
  private targetIn(config: Config): ResolvedTarget {
    const { options } = this;
    const server = findServer(config, options.target!);
    const target: DaemonTarget = { kind: "configured", server, home: homeDir(), managerPort: config.manager.port, project: this.project };
    if (options.config) target.configFile = resolve(options.config);
    // Our daemon speaks streamable HTTP, whatever its server speaks.
    return { target, transport: "streamable-http" };
  }
}
