import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { ConfigError } from "./config-error.js";
import { replaceFile } from "../files/replace-file.js";
import { VERSION } from "../version.js";
import { configDigest, readConfigText } from "./config-text.js";
import { checkedConfigPath, homeDir } from "./paths.js";
import type { Config } from "./server-config.js";

/** What the record holds, and how; a change to it makes records of the earlier shape unused. */
const RECORD_FORMAT = "checked-config/2";

/** What a checked config is recorded under: the file's path and text, our version, and the directory `~` means. */
interface Recorded {
  key: string;
  /** Which file, by this version and for this `~`: the last good config of that file, while an edit does not load. */
  of: string;
  config: Config;
}

/**
 * The config, checked: as recorded in `<home>/config.checked.json` when the file holds exactly the text checked
 * there last, by this version of us; else checked now and recorded. Checking builds and runs the schema (zod,
 * loaded only then): a tenth of a proxy's start on a small machine, for a file that rarely changes between two
 * sessions. Errors are the checker's (ConfigError), and nothing is recorded for a config that does not check.
 */
export async function checkedConfig(file?: string, home = homeDir()): Promise<Config> {
  const { path, text } = readConfigText(file);
  const key = [RECORD_FORMAT, VERSION, homedir(), configDigest(path, text)].join("\n");
  const recorded = readRecorded(home);
  if (recorded?.key === key && recorded.config) return recorded.config;
  const { configFromText } = await import("./load.js");
  // The text just read is the one checked and recorded: an edit meanwhile is seen next time, not mixed in.
  // Named absolutely: the record is read by processes that run elsewhere (the manager, the CLI, daemons).
  const config = configFromText(resolve(path), text);
  record(home, { key, of: fileKey(path), config });
  return config;
}

/**
 * The config as `checkedConfig` gives it; but while the file does not load (a syntax error, a bad key: someone is
 * editing it), the last good config of that file recorded here, as the manager keeps it in force, with the
 * reason it was used. A file that is gone or unreadable has no last good config, nor a file never checked here.
 */
export async function checkedOrLastGood(file?: string, home = homeDir()): Promise<{ config: Config; broken?: ConfigError }> {
  try {
    return { config: await checkedConfig(file, home) };
  } catch (error) {
    if (!(error instanceof ConfigError) || error.problem === "unreadable") throw error;
    const recorded = readRecorded(home);
    if (recorded?.of !== fileKey(readConfigText(file).path) || !recorded.config) throw error;
    return { config: recorded.config, broken: error };
  }
}

const fileKey = (path: string) => [RECORD_FORMAT, VERSION, homedir(), resolve(path)].join("\n");

function readRecorded(home: string): Partial<Recorded> | undefined {
  try {
    const recorded = JSON.parse(readFileSync(checkedConfigPath(home), "utf8")) as Partial<Recorded> | null;
    return typeof recorded?.key === "string" && typeof recorded.config?.servers === "object" ? recorded : undefined;
  } catch {
    return undefined; // none yet, or torn: checked again
  }
}

/** Best effort: a home that cannot be written to only means checking again next time. Never makes the home. */
function record(home: string, recorded: Recorded): void {
  if (!existsSync(home)) return;
  try {
    replaceFile(checkedConfigPath(home), JSON.stringify(recorded));
  } catch {
    // not recorded
  }
}
