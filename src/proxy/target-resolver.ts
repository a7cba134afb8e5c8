import { resolve } from "node:path";
import { configDigest, readConfigText, type ConfigText } from "../config/config-digest.js";
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
  /** The config as the running daemon checked it, when this session joined on that (not checked here again). */
  private joinedOn: ConfigText | undefined;

  constructor(
    private readonly options: ProxyArguments,
    private readonly project: string,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Whether the config is now, byte for byte, the one `digest` names (config-digest.ts): then a daemon's check of it
   * holds for this session too, and it is kept as the entry to fall back on while the file is being edited.
   */
  checkedAs(digest: string | undefined): boolean {
    if (digest === undefined || this.options.url) return false;
    const current = readConfigText(this.options.config);
    if (current === undefined || configDigest(current.path, current.text) !== digest) return false;
    this.joinedOn = current;
    return true;
  }

  async resolve(): Promise<ResolvedTarget> {
    const { options } = this;
    if (options.url) {
      return { target: { kind: "url", url: options.url, startTimeoutMs: options.startTimeoutMs }, transport: options.transport };
    }
    // The config's checker loads only here: a session whose daemon runs on an unchanged config never needs it.
    const { configFromText, loadConfig } = await import("../config/load.js");
    let config;
    try {
      config = loadConfig(options.config);
    } catch (error) {
      // A file that does not parse or check is being edited; one that is gone or unreadable is not a config to keep.
      if (!(error instanceof ConfigError) || error.problem === "unreadable") throw error;
      if (!this.lastGood && this.joinedOn) this.lastGood = this.targetIn(configFromText(this.joinedOn.path, this.joinedOn.text));
      if (!this.lastGood) throw error;
      this.log(`${error.message}; this session keeps the entry it had`);
      return this.lastGood;
    }
    this.lastGood = undefined; // a server taken out of a good file is not kept for a later broken one
    this.joinedOn = undefined;
    this.lastGood = this.targetIn(config);
    return this.lastGood;
  }

  /** The `--target` server of `config`, as the proxy reaches it. */
  private targetIn(config: Config): ResolvedTarget {
    const { options } = this;
    const server = findServer(config, options.target!);
    // Our daemon serves stdio and built-in servers over streamable HTTP.
    const transport = server.transport === "stdio" ? "streamable-http" : server.transport;
    const target: DaemonTarget = { kind: "configured", server, home: homeDir(), managerPort: config.manager.port, project: this.project };
    if (options.config) target.configFile = resolve(options.config);
    return { target, transport };
  }
}
