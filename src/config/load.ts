import { parse, type ParseError } from "jsonc-parser";
import { describeJsonError } from "../files/json-syntax-error.js";
import type { z } from "zod/v3";
import { configFile } from "./schema.js";
import { DEFAULT_MANAGER_SETTINGS } from "./manager-settings.js";
import { normalizeEntry, type Config, type ServerConfig } from "./server-config.js";
import { expandHome } from "./paths.js";
import { readConfigText } from "./config-text.js";
import { ConfigError } from "./config-error.js";

/** What runs when no config file exists: the built-in memory server. */
export const EMBEDDED_DEFAULTS = { servers: { memory: { builtin: "memory", port: 3100 } } } as const;

export function loadConfig(file?: string): Config {
  const { path, text } = readConfigText(file);
  return configFromText(path, text);
}

/** The config a file's `text` holds (undefined: the default file does not exist, so the embedded defaults). */
export function configFromText(path: string, text: string | undefined): Config {
  if (text === undefined) return parseConfig(EMBEDDED_DEFAULTS, undefined);
  // JSON with comments and trailing commas, as the clients' own files are: people edit this one by hand too.
  const errors: ParseError[] = [];
  const raw: unknown = parse(text, errors, { allowTrailingComma: true });
  const first = errors[0];
  if (first) throw new ConfigError(`config file ${path} is not valid JSON: ${describeJsonError(text, first)}`, "syntax");
  return parseConfig(raw, path);
}

export function parseConfig(raw: unknown, file: string | undefined): Config {
  const where = file ?? "the embedded defaults";
  const result = configFile.safeParse(raw);
  if (!result.success) throw new ConfigError(describeIssues(where, result.error));
  const entries = result.data.servers ?? result.data.mcpServers ?? {};
  const servers: Record<string, ServerConfig> = {};
  for (const [name, entry] of Object.entries(entries)) servers[name] = normalizeEntry(name, entry, expandHome);
  const { managerPort, manager } = result.data;
  const settings = Object.fromEntries(Object.entries(manager ?? {}).filter(([, value]) => value !== undefined));
  const config: Config = {
    manager: { ...DEFAULT_MANAGER_SETTINGS, ...settings, ...(managerPort !== undefined ? { port: managerPort } : {}) },
    servers,
  };
  if (file) config.file = file;
  return config;
}

function describeIssues(where: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.length ? issue.path.map(String).join(".") : "(top level)";
    return `${key}: ${issue.message}`;
  });
  return lines.length === 1 ? `config error in ${where}: ${lines[0]}` : `config errors in ${where}:\n  ${lines.join("\n  ")}`;
}
