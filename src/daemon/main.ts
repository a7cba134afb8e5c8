import { chmodSync, unlinkSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { findServer, loadConfig } from "../config/load.js";
import { ensureHome, lockPath, logPath } from "../config/paths.js";
import { claimLock, isProcessAlive, readLock, removeLock, updateLock } from "../manager/lock-file.js";
import { createLog } from "../logging/log.js";
import { ChildRegistry } from "./child-registry.js";
import { DaemonFront } from "./http-front.js";
import { MemoryBackend } from "../memory/memory-backend.js";
import { ScopePool } from "./scope-pool.js";

const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * `mcp-manager daemon NAME`: hosts the stdio server NAME for every session that connects, over streamable
 * HTTP on 127.0.0.1 (the configured port, or one the OS picks). Its lock file names its pid and URL.
 */
export async function runDaemon(name: string, configFile?: string): Promise<void> {
  const server = findServer(loadConfig(configFile), name);
  const home = ensureHome();
  const log = createLog(`daemon ${process.pid} ${name}`, process.stderr.isTTY ? logPath(name, home) : undefined);
  if (!server.builtin && (server.transport !== "stdio" || !server.command)) {
    throw new Error(`"${name}" is a ${server.transport} server: it runs its own command, not under mcp-manager daemon`);
  }

  const lockFile = lockPath(name, home);
  const holder = readLock(lockFile);
  // The lock is ours when we made it, or when the proxy that started us claimed it on our behalf.
  const ours = (pid: number) => pid === process.pid || pid === process.ppid;
  if (holder && !ours(holder.pid) && isProcessAlive(holder.pid)) {
    throw new Error(`daemon "${name}" already runs (pid ${holder.pid}, lock ${lockFile})`);
  }
  if (holder && !ours(holder.pid)) removeLock(lockFile);
  const startedAt = new Date().toISOString();
  if (!holder || !ours(holder.pid)) {
    if (!claimLock(lockFile, { name, pid: process.pid, startedBy: process.pid, startedAt })) {
      throw new Error(`daemon "${name}" is being started by another process (lock ${lockFile})`);
    }
  }

  // We hold the lock: any child a killed predecessor left behind is ours to stop before starting our own.
  const registry = new ChildRegistry(join(home, `${name}.children`), log);
  registry.reapLeftovers();
  const pool = server.builtin
    ? new ScopePool({ ...server, scope: "shared" }, log, registry, () => new MemoryBackend(log))
    : new ScopePool(server, log, registry);
  let port = server.port ?? 0;
  const front = new DaemonFront({ server, pool, port: () => port, path: "/mcp", maxBodyBytes: MAX_BODY_BYTES, log });
  const httpServer = http.createServer((request, response) => front.handle(request, response));
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
    removeLock(lockFile);
    throw new Error(`cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
  }
  port = (httpServer.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/mcp`;
  const socketServer = await listenOnSocket(join(home, `${name}.sock`), httpServer, log);
  updateLock(lockFile, {
    name,
    pid: process.pid,
    url,
    ...(socketServer ? { socket: socketServer.path } : {}),
    startedBy: holder?.startedBy ?? process.pid,
    startedAt,
    command: "mcp-manager daemon",
  });
  const serving = server.builtin ? `the built-in ${server.builtin} server` : `${[server.command, ...server.args].join(" ")} (scope ${server.scope})`;
  log(`listening on ${url} for ${serving}`);

  const reaper = setInterval(() => front.reapIdle(), Math.min(60_000, Math.max(1000, server.sessionIdleTimeoutMs / 2)));
  reaper.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${signal})`);
    clearInterval(reaper);
    httpServer.close();
    socketServer?.server.close();
    if (socketServer) removeFile(socketServer.path);
    for (const session of [...front.sessions.values()]) front.endSession(session, "closed: the daemon is stopping");
    httpServer.closeAllConnections();
    socketServer?.server.closeAllConnections();
    await pool.stopAll();
    registry.clear();
    if (readLock(lockFile)?.pid === process.pid) removeLock(lockFile);
    process.exit(0);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void stop(signal));
}

/** Longest Unix socket path every POSIX system accepts (macOS allows 104 bytes with the terminator). */
const MAX_SOCKET_PATH = 100;

/**
 * The same HTTP on a Unix domain socket in the user-only home directory: local proxies skip the TCP stack
 * (about a quarter of a loopback round trip) and the file's permissions keep other users out.
 */
async function listenOnSocket(
  path: string,
  tcp: http.Server,
  log: (line: string) => void,
): Promise<{ server: http.Server; path: string } | undefined> {
  if (process.platform === "win32" || Buffer.byteLength(path) > MAX_SOCKET_PATH) return undefined;
  removeFile(path); // left by a daemon that died: we hold the lock now
  const server = http.createServer((request, response) => tcp.emit("request", request, response));
  server.requestTimeout = 0;
  server.keepAliveTimeout = tcp.keepAliveTimeout;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    return { server, path };
  } catch (error) {
    log(`not listening on ${path} (${(error as Error).message}); TCP only`);
    return undefined;
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}
