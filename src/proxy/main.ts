import { isOwnSocket } from "../files/own-socket.js";
import { ensureHome, logPath } from "../config/paths.js";
import { DRAINS_HEADER } from "../protocol/drain-notice.js";
import { PROJECT_PATH_HEADER, encodeProjectPath, mayKnowProjectPath, projectPath } from "../protocol/project-path.js";
import { SessionSocketTransport } from "../upstream/session-socket.js";
import { PROVEN_SESSION_SOCKET_PROTOCOL } from "../protocol/session-socket.js";
import { readHomeToken } from "../runtime/home-token.js";
import { VERSION } from "../version.js";
import { USAGE, UsageError, parseProxyArguments, type ProxyArguments } from "./arguments.js";
import { Bridge } from "../relay/bridge.js";
import { openRunningSession } from "./proven-session.js";
import { useLeanEngine } from "./lean-engine.js";
import { TargetResolver } from "./target-resolver.js";
import { readLines } from "../protocol/line-reader.js";
import { LineWriter } from "../protocol/line-writer.js";
import { createLog } from "../logging/log.js";

/** Claude Code sends SIGKILL 400 ms after SIGTERM: be gone well before. */
const SIGTERM_BUDGET_MS = 250;
/**
 * A client's end is normally seen at once (stdin closes); this looks for the rare one killed while another process
 * holds our stdin. Seldom, because every idle proxy of every window wakes for it.
 */
const PARENT_CHECK_MS = 5000;

function readArguments(): ProxyArguments {
  try {
    const parsed = parseProxyArguments(process.argv.slice(2));
    if (parsed === "help") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (parsed === "version") {
      process.stdout.write(`${VERSION}\n`);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`mcp-proxy: ${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
}

const options = readArguments();
const name = options.target ?? options.url!.host;
let logFile: string | undefined;
if (options.target) {
  try {
    logFile = logPath(options.target, ensureHome());
  } catch {
    logFile = undefined; // an unwritable home shows up as a connect error, with its reason
  }
}
const log = createLog(`mcp-proxy ${process.pid} ${name}`, logFile);
// Bad input or a bug must not end the session; but reporting an error must never raise the next one.
let reporting = false;
const report = (what: string) => {
  if (reporting) return;
  reporting = true;
  try {
    log(what);
  } finally {
    reporting = false;
  }
};
process.on("uncaughtException", (error) => report(`unexpected error (continuing): ${error.stack ?? error.message}`));
process.on("unhandledRejection", (error) => report(`unexpected rejection (continuing): ${String(error)}`));

const project = projectPath();
const client = `mcp-proxy/${VERSION}`;
/**
 * What the proxy tells an HTTP server about its session: the project path goes to our proven daemon and to
 * servers on this machine, never to a remote one (it names the user and their directories).
 */
function sessionHeaders(url: URL, credential: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { "user-agent": client };
  if (credential || mayKnowProjectPath(url)) headers[PROJECT_PATH_HEADER] = encodeProjectPath(project);
  if (credential) {
    headers.authorization = `Bearer ${credential}`; // our daemon's, from its proof; nobody else's
    headers[DRAINS_HEADER] = "1";
  }
  return headers;
}

// Messages for the client wait while its stdout is full; past 16 MiB waiting, the daemon's session is held back
// too (the daemon then holds up to its own bound), so a client that stops reading cannot grow us without end.
const stdout = new LineWriter(process.stdout, { pressureAboveBytes: 16 * 1024 * 1024 });
stdout.onpressure = (waiting) => bridge.clientBackedUp(waiting);

let handshakeTimeoutMs = options.startTimeoutMs;
const targets = new TargetResolver(options, project, log);
const bridge = new Bridge({
  // A server given by --url is not our daemon: errors name it so (its transport obeys no drain notice from it).
  ...(options.url ? { names: { self: "mcp-proxy", upstream: "server" } } : {}),
  connect: async () => {
    const { target, transport } = await targets.resolve();
    if (target.kind === "configured") handshakeTimeoutMs = target.server.startTimeoutMs;
    const running = await openRunningSession(target, { projectPath: project, client, log });
    if (running) {
      useLeanEngine("session-socket"); // the session socket's way: everything it needs is loaded (lean-engine.ts)
      return running;
    }
    // Loaded only here: finding, proving over HTTP and starting a daemon, which most sessions never need.
    const { ensureDaemon } = await import("./daemon-starter.js");
    const { sessionSocket, sessionProtocol, socketPath, url, credential } = await ensureDaemon(target, log);
    // Our own daemon's session socket when it has one (the fastest way there); HTTP otherwise. A socket file
    // removed by hand, or not made by this user, is passed over: the daemon still answers on its port.
    if (target.kind === "configured" && sessionSocket && isOwnSocket(sessionSocket)) {
      // Proven over HTTP, not on this socket: a daemon that can prove itself here too does so before the greeting.
      const token = sessionProtocol === PROVEN_SESSION_SOCKET_PROTOCOL ? readHomeToken(target.home) : undefined;
      const proof = token ? { proof: { token, name: target.server.name } } : {};
      useLeanEngine("session-socket");
      return new SessionSocketTransport({
        projectPath: project,
        client,
        log,
        greetingTimeoutMs: handshakeTimeoutMs,
        path: sessionSocket,
        ...proof,
      });
    }
    const route = socketPath && isOwnSocket(socketPath) ? { socketPath } : {};
    // The HTTP transports load only when needed: most sessions never use them, and every module costs start-up.
    const { transports } = await import("../upstream/index.js");
    useLeanEngine("http");
    const ours = credential !== undefined; // our daemon, proven; else a server given by URL
    return transports[transport]({
      url,
      ...route,
      headers: sessionHeaders(url, credential),
      ownDaemon: ours,
      peer: ours ? "daemon" : "server",
      log,
    });
  },
  write: (line) => stdout.write(line),
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
  // Answers still waiting for a slow reader go out first, within the budget the timer above enforces.
  await stdout.flushed();
  process.exit(0);
}

process.on("SIGTERM", () => void exit("SIGTERM", SIGTERM_BUDGET_MS - 100, "mcp-proxy is shutting down (SIGTERM)"));
process.on("SIGHUP", () => void exit("SIGHUP", SIGTERM_BUDGET_MS - 100, "mcp-proxy is shutting down (SIGHUP)"));
process.stdout.on("error", (error: NodeJS.ErrnoException) => void exit(`stdout is gone (${error.code ?? error.message})`, 200));

// A client killed outright may leave our stdin open (another process holding the pipe): when the process that
// launched us is gone, so is the session.
const launcher = process.ppid;
setInterval(() => {
  if (process.ppid !== launcher) void exit(`the client process ${launcher} is gone`, 1000, "the client is gone");
}, PARENT_CHECK_MS).unref();

readLines(process.stdin, options.maxMessageBytes, {
  line: (text, bytes) => bridge.handleLine(text, bytes),
  oversized: (length, head, tail) => bridge.handleOversized(length, head, tail, options.maxMessageBytes),
  end: () => {
    // The client is done sending, but may still read: answer what it asked, then end the daemon session.
    void bridge.whenIdle().then(() => exit("stdin closed", 1000));
  },
});
log(`started (pid ${process.pid}, project ${project})`);
