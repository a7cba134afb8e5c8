import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "./config-error.js";
import { configPath } from "./paths.js";

/**
 * Names one config exactly: the file's path and text, or the embedded defaults (`text` undefined: the default
 * file does not exist). What a config checked once is recorded under (checked-config.ts).
 */
export function configDigest(path: string, text: string | undefined): string {
  const named = text === undefined ? "embedded defaults" : `${resolve(path)}\n${text}`;
  return createHash("sha256").update(named).digest("base64url");
}

/** A config file as it is now: `text` undefined when the default file does not exist (the embedded defaults). */
export interface ConfigText {
  path: string;
  text: string | undefined;
}

/**
 * What the config `file` (or the default file) holds now. Only a missing default file means "use the defaults";
 * a file named explicitly must exist, and one that cannot be read is a ConfigError.
 */
export function readConfigText(file?: string): ConfigText {
  const path = file ?? configPath();
  try {
    return { path, text: readFileSync(path, "utf8") };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && file === undefined) return { path, text: undefined };
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`, "unreadable");
  }
}
