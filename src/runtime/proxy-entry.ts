import { configPath, homeDir } from "../config/paths.js";
import { proxyScript } from "./entry-points.js";
import { shellWord } from "../process/shell-word.js";

/** How a client launches mcp-proxy for one server. */
export interface ProxyEntry {
  command: string;
  args: string[];
  /** Set when this home is not the default one: the client must pass it on, or the proxy looks elsewhere. */
  env?: { MCP_SESSION_MANAGER_HOME: string };
}

/**
 * `node /abs/dist/proxy/index.js --target NAME`, with absolute paths to this node and this proxy: clients
 * start servers with a minimal PATH and from any directory. A config file other than the home's is named,
 * and a home other than the default is passed in the environment.
 */
export function proxyEntry(name: string, configFile: string | undefined): ProxyEntry {
  const config = configFile && configFile !== configPath() ? ["--config", configFile] : [];
  const entry: ProxyEntry = { command: process.execPath, args: [proxyScript(), ...config, "--target", name] };
  if (process.env.MCP_SESSION_MANAGER_HOME) entry.env = { MCP_SESSION_MANAGER_HOME: homeDir() };
  return entry;
}

/** `mcp-proxy --target NAME`, found on PATH: an entry that works on any machine where the package is installed. */
export function portableProxyEntry(name: string): ProxyEntry {
  return { command: "mcp-proxy", args: ["--target", name] };
}

/** The command that connects Claude Code to server `name` through the proxy, in every project (`-s user`). */
export function claudeAddCommand(name: string, configFile: string | undefined): string {
  const entry = proxyEntry(name, configFile);
  const env = entry.env ? `-e MCP_SESSION_MANAGER_HOME=${shellWord(entry.env.MCP_SESSION_MANAGER_HOME)} ` : "";
  return `claude mcp add -s user ${env}${name} -- ${[entry.command, ...entry.args].map(shellWord).join(" ")}`;
}
