import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import { checkedConfig } from "../config/checked-config.js";
import { ConfigError } from "../config/config-error.js";
import { DEFAULT_MANAGER_SETTINGS } from "../config/manager-settings.js";
import { takeFirstProject, takeHandedChild, takeKeptEntry } from "../runtime/kept-entry.js";
import { PROJECT_PATH_HEADER, encodeProjectPath, namedProjectDir } from "../protocol/project-path.js";
import { transports } from "../upstream/index.js";
import { VERSION } from "../version.js";
import { HttpServerProcess } from "./http-server.js";
import { HttpRelay } from "./http-relay.js";
import { RemoteServerLink } from "./remote-server.js";
import {
  commandLine,
  shownUrl,
  canDrain,
  findServer,
  fixedDaemonUrl,
  type Config,
  type RemoteServer,
  type ServerConfig,
  type SpawnedHttpServer,
} from "../config/server-config.js";
import { systemClock } from "../runtime/clock.js";
import type { RestartRule } from "../runtime/restart-policy.js";
import { IdleCollection } from "./idle-collection.js";
import { SessionRouter } from "./session-router.js";
import { spawnStdioChild } from "./stdio-child.js";
import { SpareChild } from "./spare-child.js";
import { HeldChild } from "./adopted-child.js";
import { sameSpec, serverSpec, type ChildConnection } from "./child-connection.js";
import { ensureHome, httpSocketPath, lockPath, logPath, sessionSocketPath } from "../config/paths.js";
import {
  claimLock,
  isHolderAlive,
  lockRecord,
  readLock,
  removeLock,
  removeStaleLock,
  updateLock,
  type LockRecord,
} from "../runtime/lock-file.js";
import { rotateLog } from "../logging/rotate.js";
import { createLog } from "../logging/log.js";
import { ChildRegistry } from "../runtime/child-registry.js";
import { DaemonFront } from "./http-front.js";
import { ScopePool } from "./scope-pool.js";
import { LearnedTraits } from "./learned-traits.js";
import { LockKeeper } from "./lock-keeper.js";
import { closeSocket, listenOnSocket, stillOurs } from "./socket-listener.js";
import { SessionRegistry } from "./session-registry.js";
import { SocketFront } from "./socket-front.js";
import { PROVEN_SESSION_SOCKET_PROTOCOL } from "../protocol/session-socket.js";
import { HeldToken } from "../runtime/home-token.js";
import { installLastResort } from "../runtime/last-resort.js";
import { describePortOwner } from "../process/port-owner.js";
import { ListenerAuth, whereReached } from "../runtime/listener-auth.js";

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const HOUSEKEEPING_MS = 10_000;
/**
 * While draining, how often sessions that do not end by themselves are looked at: those with nothing in flight
 * are ended (a proxy that does not know the drain notice reconnects at its next message).
 */
const QUIET_DRAIN_CHECK_MS = 2000;

/**
 * `mcp-manager daemon NAME`: serves the server NAME (stdio or built-in, hosted here; or an HTTP server it starts
 * and relays to) for every session that connects: over streamable
 * HTTP on 127.0.0.1 (the configured port, or one the OS picks), the same HTTP on a Unix socket, and the session
 * socket our proxies use. Its lock file names its pid and these addresses.
 */
export async function runDaemon(name: string, configFile?: string): Promise<void> {
  const kept = takeKeptEntry(name);
  const firstProject = takeFirstProject();
  const handedChild = takeHandedChild();
  const handed = handedChild && new HeldChild(handedChild);
  let config: Config | undefined;
  let broken: string | undefined;
  try {
    config = await checkedConfig(configFile);
  } catch (error) {
    if (!(error instanceof ConfigError) || !kept) throw error;
    broken = error.message;
  }
  const server = config ? findServer(config, name) : kept!;
  const settings = config?.manager ?? DEFAULT_MANAGER_SETTINGS;
  const home = ensureHome();
  const rotation = { maxBytes: settings.logMaxBytes, keep: settings.logFiles };
  // Written to stderr, which is the log file when the daemon was started detached; to the file as well from a terminal.
  const log = createLog(`daemon ${process.pid} ${name}`, process.stderr.isTTY ? logPath(name, home) : undefined, {
    path: logPath(name, home),
    rotation,
  });
  installLastResort(log);
  if (broken) log(`${broken}; running the entry its starter last loaded`);

  const lockFile = lockPath(name, home);
  const startedAt = new Date().toISOString();
  let holder: LockRecord | undefined;
  try {
    holder = claimOrJoin(lockFile, name, startedAt);
  } catch (error) {
    // Not ours to run: neither is the server process our starter handed us (it may be gone, and nobody else knows it).
    await handed?.stop(log, "this daemon does not run");
    throw error;
  }

  // We hold the lock: any child a killed predecessor left behind is ours to stop before starting our own.
  const registry = new ChildRegistry(join(home, `${name}.children`), log);
  registry.start(handedChild);
  const learned = LearnedTraits.of(home, name, log);
  const spare = new SpareChild({
    spawn: spawnStdioChild,
    clock: systemClock,
    log,
    // It is there for a session on its way (the one that started us, or one moving over from a drained daemon).
    unusedAfterMs: Math.max(server.childIdleTimeoutMs, server.startTimeoutMs),
    onChildStarted: (pid) => registry.add(pid),
    onChildExited: (pid) => registry.remove(pid),
  });
  const pool = await scopePool(server, {
    learned,
    log,
    registry,
    spare,
    firstProject,
    handed,
    restart: { limit: settings.restartLimit, backoffMs: settings.restartBackoffMs },
    logFile: logPath(name, home),
  });
  let port = fixedDaemonUrl(server)?.port ?? 0;
  const sessions = new SessionRegistry({ pool, idleTimeoutMs: server.sessionIdleTimeoutMs, maxSessions: server.maxSessions, log });
  const token = new HeldToken(home);
  const auth = new ListenerAuth(token, { role: "daemon", name });
  const front = new DaemonFront({
    server,
    auth,
    pool,
    learned: () => ({ ...learned.summary() }),
    sessions,
    port: () => port,
    path: "/mcp",
    maxBodyBytes: MAX_BODY_BYTES,
    log,
    drain: (reason) => drain(reason),
    canDrain: canDrain(server),
    draining: () => draining,
  });
  const socketFront = new SocketFront({ sessions, maxLineBytes: MAX_BODY_BYTES, auth, path: sessionSocketPath(name, home), log });
  const httpServer = http.createServer((request, response) => front.handle(request, response, whereReached(request)));
  // Long tool calls: neither a request timeout nor a headers timeout may cut them.
  httpServer.requestTimeout = 0;
  httpServer.headersTimeout = 60_000;
  httpServer.keepAliveTimeout = 60_000;

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(port, "127.0.0.1", () => resolve());
    });
  } catch (error) {
    await pool.stopAll();
    registry.clear();
    removeLock(lockFile);
    const held = (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? ` (held by ${describePortOwner(port)})` : "";
    throw new Error(`cannot listen on 127.0.0.1:${port}: ${(error as Error).message}${held}`, { cause: error });
  }
  port = (httpServer.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/mcp`;
  const httpSocketFile = httpSocketPath(name, home);
  const httpSocket = http.createServer((request, response) => front.handle(request, response, whereReached(request, httpSocketFile)));
  httpSocket.requestTimeout = 0;
  httpSocket.keepAliveTimeout = httpServer.keepAliveTimeout;
  const sockets = [
    await listenOnSocket(httpSocketFile, httpSocket, log),
    await listenOnSocket(
      sessionSocketPath(name, home),
      net.createServer((socket) => socketFront.accept(socket)),
      log,
    ),
  ];
  const [httpSocketListening, sessionSocketFile] = sockets.map((listening) => listening?.path);
  const record = lockRecord({
    name,
    pid: process.pid,
    url,
    ...(httpSocketListening ? { socket: httpSocketListening } : {}),
    ...(sessionSocketFile ? { sessionSocket: sessionSocketFile, sessionProtocol: PROVEN_SESSION_SOCKET_PROTOCOL } : {}),
    startedBy: holder?.startedBy ?? process.pid,
    startedAt,
    command: "mcp-manager daemon",
  });
  updateLock(lockFile, record);
  const serving =
    server.kind === "builtin"
      ? `the built-in ${server.builtin} server`
      : server.kind === "spawned"
        ? `${commandLine(server)} (an HTTP server on port ${server.port})`
        : server.kind === "remote"
          ? `the remote server ${shownUrl(server.url)}`
          : `${commandLine(server)} (scope ${server.scope})`;
  log(`listening on ${url} for ${serving}`);

  const reaper = setInterval(() => sessions.reapIdle(), Math.min(60_000, Math.max(1000, server.sessionIdleTimeoutMs / 2)));
  reaper.unref();
  // Housekeeping that needs no manager: keep the log within its size, and put back what was removed by hand
  // (users are known to clear `~/.mcp-session-manager/*.lock`, or the whole home): the home with its token
  // (ours, so that clients and we still agree), then the lock, so starters keep finding us, and our list of children;
  // and once calls stop, what they left in memory is collected.
  const keeper = new LockKeeper({
    lockFile,
    record,
    addressesOurs: () => sockets.every((socket) => !socket || stillOurs(socket)),
    log,
    // An HTTP server's daemon cannot drain (its server holds the port the next one needs): it stops.
    superseded: (why) => (canDrain(server) ? drain(why) : void stop(`superseded: ${why}`)),
  });
  keeper.start();
  const idle = new IdleCollection(() => sessions.calls.finished);
  const housekeeping = setInterval(() => {
    idle.look();
    try {
      token.current(true);
      rotateLog(logPath(name, home), rotation);
      keeper.check();
      registry.keep();
      // A daemon that drained before us and died before its children (killed, or out of memory) left them running.
      registry.reapDrained();
    } catch (error) {
      log(`housekeeping failed (tried again in ${HOUSEKEEPING_MS / 1000} s): ${(error as Error).message}`);
    }
  }, HOUSEKEEPING_MS);
  housekeeping.unref();

  /**
   * Gives up the addresses a new daemon needs and the lock, so that it can start at once: the socket files and
   * a configured port. A port the system picked stays open while draining: sessions that speak HTTP to us still
   * send their cancels and answers here (new sessions are refused), and the new daemon gets a port of its own.
   */
  let listening = true;
  const stopListening = (forDrain: boolean) => {
    if (!forDrain || fixedDaemonUrl(server)) httpServer.close();
    if (!listening) return;
    listening = false;
    clearInterval(housekeeping); // it would put the lock back
    keeper.stop();
    for (const socket of sockets) if (socket) closeSocket(socket);
    if (readLock(lockFile)?.pid === process.pid) removeLock(lockFile);
  };

  /**
   * A graceful restart (POST /drain from the manager): this daemon stops listening and gives up its lock at
   * once, so that the new one can start, and tells each session so (DRAIN_NOTICE_METHOD). Their proxies send
   * what comes next to the new daemon and end their session here once the answers they wait for have come. It
   * exits when no session is left, or after `drainTimeoutMs`: calls still running then get an error saying so.
   */
  let draining = false;
  const drain = (reason: string): void => {
    if (draining) return;
    draining = true;
    log(`draining (${reason}): no new sessions; finishing the calls in flight within ${server.drainTimeoutMs} ms`);
    stopListening(true);
    void spare.stop("the daemon is draining");
    const emptied = sessions.drain(reason);
    const quiet = setInterval(() => sessions.endQuietUnaware(QUIET_DRAIN_CHECK_MS), QUIET_DRAIN_CHECK_MS);
    const timeout = setTimeout(() => {
      sessions.endAllDrained(
        `mcp-session-manager: the daemon for "${name}" was replaced (${reason}) and this call was still running after ` +
          `the drain timeout (drainTimeoutMs: ${server.drainTimeoutMs} ms); it may not have completed`,
      );
    }, server.drainTimeoutMs);
    void emptied.then(() => {
      clearInterval(quiet);
      clearTimeout(timeout);
      log("drained: every session has moved on");
      void stop("drained");
    });
  };

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${signal})`);
    clearInterval(reaper);
    stopListening(false);
    sessions.endAll("closed: the daemon is stopping");
    httpServer.closeAllConnections();
    httpSocket.closeAllConnections();
    await pool.stopAll();
    registry.clear();
    if (readLock(lockFile)?.pid === process.pid) removeLock(lockFile);
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void stop(signal));
}

interface PoolContext {
  learned: LearnedTraits;
  log: (line: string) => void;
  registry: ChildRegistry;
  spare: SpareChild;
  /** The first session's project, as its starter said it (checked before use). */
  firstProject: string | undefined;
  /** The server process the starter spawned ahead for us, if it did (runtime/first-child.ts). */
  handed: HeldChild | undefined;
  restart: RestartRule;
  logFile: string;
}

/**
 * What serves the sessions: per scope, the built-in memory server, or a SessionRouter sharing a stdio child.
 * The memory server (SDK, zod, SQLite) is loaded only by its own daemon: it would double every other daemon's start.
 */
async function scopePool(server: ServerConfig, context: PoolContext): Promise<ScopePool> {
  const { log, registry, handed } = context;
  /** A handed process the daemon does not take is stopped, and no longer recorded as its child. */
  const leave = async (why: string) => {
    if (!handed) return;
    await handed.stop(log, why);
    registry.remove(handed.pid);
  };
  if (server.kind === "builtin") {
    await leave("the built-in server runs in the daemon");
    const { MemoryBackend } = await import("./memory-backend.js");
    return new ScopePool({
      scope: "shared",
      childIdleTimeoutMs: server.childIdleTimeoutMs,
      log,
      byHandshake: false,
      create: () => new MemoryBackend(log),
    });
  }
  if (server.kind === "spawned") {
    await leave("an HTTP server is started by its daemon");
    return httpServerPool(server, context);
  }
  if (server.kind === "remote") {
    await leave("a remote server runs elsewhere");
    return remoteServerPool(server, context);
  }
  const spec = (cwd: string | undefined) => serverSpec(server, cwd);
  const create = (key: string, cwd: string | undefined) => {
    const label = key === "shared" ? "" : ` [${key}]`;
    return new SessionRouter({
      child: {
        spec: spec(cwd),
        spawn: context.spare.spawn,
        clock: systemClock,
        restart: context.restart,
        startTimeoutMs: server.startTimeoutMs,
        logFile: context.logFile,
        log: (line) => log(`${line}${label}`),
        onChildStarted: (pid) => registry.add(pid),
        onChildExited: (pid) => registry.remove(pid),
      },
      onServerRequest: (method) => context.learned.sawRequest(method),
    });
  };
  const pool = new ScopePool({
    scope: server.scope,
    ...(server.cwd ? { cwd: server.cwd } : {}),
    childIdleTimeoutMs: server.childIdleTimeoutMs,
    log,
    byHandshake: true,
    asksClients: () => context.learned.asksClients,
    create,
    spare: context.spare,
  });
  // The server loads while we start listening, and the first session finds it ready to initialize: the one our
  // starter spawned ahead of us when it is what we would start, else one we start now.
  const ahead = pool.cwdKnownAhead(() =>
    namedProjectDir(context.firstProject, (why) => {
      log(`no spare child for the first session's project ${JSON.stringify(context.firstProject)}: it ${why}`);
    }),
  );
  const wanted = ahead === undefined ? undefined : spec(ahead);
  let adopted: ChildConnection | undefined;
  if (handed && wanted && sameSpec(handed.spec, wanted)) {
    adopted = await handed.take(log);
    if (!adopted) registry.remove(handed.pid);
  } else await leave(wanted ? "the first child needs another directory or environment" : "where the first child runs is not known yet");
  if (adopted && wanted) context.spare.adopt(adopted, wanted);
  else if (wanted) context.spare.start(wanted);
  return pool;
}

/**
 * An HTTP server's sessions: one relay for all, each session with an HTTP session of its own on the server, which
 * starts with the daemon and runs as long as it does (listed from the start, as the pool's shared child).
 */
function httpServerPool(server: SpawnedHttpServer, context: PoolContext): ScopePool {
  const { log, registry } = context;
  const serverProcess = new HttpServerProcess({
    server,
    restart: context.restart,
    log,
    logFile: context.logFile,
    onStarted: (pid) => registry.add(pid),
    onExited: (pid) => registry.remove(pid),
  });
  const url = new URL(server.url);
  const relay = new HttpRelay({
    handshakeTimeoutMs: server.startTimeoutMs,
    log,
    status: () => serverProcess.status(),
    stopServer: () => serverProcess.stop(),
    connect: async (session) => {
      await serverProcess.whenReady(server.startTimeoutMs);
      // The server runs on this machine: it may know the session's project, as it would from a proxy of its own.
      const headers: Record<string, string> = { "user-agent": `mcp-session-manager/${VERSION}` };
      if (session.projectPath) headers[PROJECT_PATH_HEADER] = encodeProjectPath(session.projectPath);
      return transports[server.transport]({ url, headers, peer: "server", log: (line) => log(`session ${session.id}: ${line}`) });
    },
  });
  serverProcess.start();
  return sharedRelayPool(server, relay, log);
}

/** A remote server's sessions: one relay for all, each session with an HTTP session of its own there. */
function remoteServerPool(server: RemoteServer, context: PoolContext): ScopePool {
  const { log } = context;
  const link = new RemoteServerLink(server, log);
  const relay = new HttpRelay({
    handshakeTimeoutMs: server.startTimeoutMs,
    log,
    status: () => link.status(),
    stopServer: () => Promise.resolve(), // not ours to stop
    connect: (session) => link.connect(session),
  });
  return sharedRelayPool(server, relay, log);
}

/** The pool of a server every session reaches through one relay, listed from the start as its shared child. */
function sharedRelayPool(server: ServerConfig, relay: HttpRelay, log: (line: string) => void): ScopePool {
  const pool = new ScopePool({
    scope: "shared",
    childIdleTimeoutMs: server.childIdleTimeoutMs,
    log,
    byHandshake: false,
    create: () => relay,
  });
  pool.acquire("shared", undefined);
  pool.released("shared");
  return pool;
}

/**
 * Takes the daemon's lock, or joins the claim the process that spawned us made on our behalf. A live holder
 * that is neither (another daemon) means we must not run; a stale one is replaced.
 */
function claimOrJoin(lockFile: string, name: string, startedAt: string): LockRecord | undefined {
  // The lock is ours when we made it, or when the process that started us claimed it for us.
  const ours = (pid: number) => pid === process.pid || pid === process.ppid;
  for (let attempt = 0; attempt < 10; attempt++) {
    const holder = readLock(lockFile);
    if (holder && ours(holder.pid)) return holder;
    if (holder && isHolderAlive(holder)) throw new Error(`daemon "${name}" already runs (pid ${holder.pid}, lock ${lockFile})`);
    if (holder) removeStaleLock(lockFile, holder);
    if (claimLock(lockFile, lockRecord({ name, pid: process.pid, startedBy: process.pid, startedAt }))) return undefined;
  }
  throw new Error(`daemon "${name}" is being started by another process (lock ${lockFile})`);
}
