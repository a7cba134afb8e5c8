import { Command, InvalidArgumentError, Option } from "commander";
import { TRANSPORTS, type HttpTransport } from "../config/schema.js";
import { loadConfig, findServer } from "../config/load.js";
import { ensureHome, homeDir, logPath } from "../config/paths.js";
import { PROJECT_PATH_HEADER, encodeProjectPath, projectPath } from "../protocol/project-path.js";
import { transports } from "../upstream/index.js";
import { closeIdleSockets } from "../upstream/http-client.js";
import { VERSION } from "../version.js";
import { Bridge } from "./bridge.js";
import { ensureDaemon, type DaemonTarget } from "./daemon-starter.js";
import { readLines } from "./line-reader.js";
import { createLog } from "./proxy-log.js";

const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;
/** Claude Code sends SIGKILL 400 ms after SIGTERM: be gone well before. */
const SIGTERM_BUDGET_MS = 250;

interface Options {
  target?: string;
  url?: string;
  transport: HttpTransport;
  config?: string;
  maxMessageBytes: number;
  startTimeout: number;
}

const positiveInt = (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError("expected a positive integer");
  return parsed;
};

const program = new Command("mcp-proxy")
  .description("stdio <-> HTTP bridge from one MCP client session to a shared daemon")
  .version(VERSION)
  .addOption(new Option("--target <name>", "server name from the config (its daemon is started if needed)").conflicts("url"))
  .option("--url <url>", "daemon URL for a server that is not in the config (never started by the proxy)")
  .addOption(
    new Option("--transport <kind>", "transport for --url")
      .choices(TRANSPORTS.filter((t) => t !== "stdio"))
      .default("streamable-http"),
  )
  .option("--config <file>", "config file (default: <home>/config.json)")
  .option("--max-message-bytes <n>", "longest stdin line accepted", positiveInt, DEFAULT_MAX_MESSAGE_BYTES)
  .option("--start-timeout <ms>", "how long to wait for a --url daemon to answer", positiveInt, 30_000)
  .showHelpAfterError();

program.parse();
const options = program.opts<Options>();
if (!options.target && !options.url) program.error("error: give --target NAME (from the config) or --url URL");
if (options.url && !URL.canParse(options.url)) program.error(`error: --url ${options.url} is not a URL`);

const name = options.target ?? new URL(options.url!).host;
let logFile: string | undefined;
if (options.target) {
  try {
    logFile = logPath(options.target, ensureHome());
  } catch {
    logFile = undefined; // an unwritable home shows up as a connect error, with its reason
  }
}
const log = createLog(`mcp-proxy ${process.pid} ${name}`, logFile);
process.on("uncaughtException", (error) => log(`unexpected error (continuing): ${error.stack ?? error.message}`));
process.on("unhandledRejection", (error) => log(`unexpected rejection (continuing): ${String(error)}`));

const headers = {
  [PROJECT_PATH_HEADER]: encodeProjectPath(projectPath()),
  "user-agent": `mcp-proxy/${VERSION}`,
};

/** Resolved afresh on every connect, so a fixed config file is picked up without restarting the client. */
function resolveTarget(): { target: DaemonTarget; transport: HttpTransport } {
  if (options.url) {
    return { target: { kind: "url", url: new URL(options.url), startTimeoutMs: options.startTimeout }, transport: options.transport };
  }
  const server = findServer(loadConfig(options.config), options.target!);
  // Our daemon serves stdio and built-in servers over streamable HTTP.
  const transport = server.transport === "stdio" ? "streamable-http" : server.transport;
  return { target: { kind: "configured", server, home: homeDir() }, transport };
}

let handshakeTimeoutMs = options.startTimeout;
const bridge = new Bridge({
  connect: async () => {
    const { target, transport } = resolveTarget();
    if (target.kind === "configured") handshakeTimeoutMs = target.server.startTimeoutMs;
    const url = await ensureDaemon(target, log);
    return transports[transport]({ url, headers, log });
  },
  write: (line) => {
    process.stdout.write(line + "\n");
  },
  log,
  get handshakeTimeoutMs() {
    return handshakeTimeoutMs;
  },
});

let exiting = false;
async function exit(reason: string, budgetMs: number, failPending?: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  log(`exiting: ${reason}`);
  setTimeout(() => process.exit(0), budgetMs + 50).unref();
  await bridge.close(budgetMs, failPending);
  closeIdleSockets();
  process.stdout.write("", () => process.exit(0));
}

process.on("SIGTERM", () => void exit("SIGTERM", SIGTERM_BUDGET_MS - 100, "mcp-proxy is shutting down (SIGTERM)"));
process.on("SIGHUP", () => void exit("SIGHUP", SIGTERM_BUDGET_MS - 100, "mcp-proxy is shutting down (SIGHUP)"));
process.stdout.on("error", (error) => void exit(`stdout is gone (${(error as NodeJS.ErrnoException).code ?? error.message})`, 200));

readLines(process.stdin, options.maxMessageBytes, {
  line: (text) => bridge.handleLine(text),
  oversized: (length, head, tail) => bridge.handleOversized(length, head, tail, options.maxMessageBytes),
  end: () => {
    // The client is done sending, but may still read: answer what it asked, then end the daemon session.
    void bridge.whenIdle().then(() => exit("stdin closed", 1000));
  },
});
log(`started (pid ${process.pid}, project ${projectPath()})`);
