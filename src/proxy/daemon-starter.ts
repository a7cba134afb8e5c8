import { setTimeout as sleep } from "node:timers/promises";
import type { ServerConfig } from "../config/server-config.js";
import { DaemonUnavailable, addressFrom, type AddressFields, type DaemonAddress } from "../runtime/daemon-address.js";
import { findDaemon } from "../runtime/find-daemon.js";
import { isRemote } from "../config/server-config.js";
import { VERSION } from "../version.js";
import { probeDaemon } from "../runtime/daemon-health.js";
import { answerError, callManager, pingManager } from "../runtime/manager-client.js";
import { isListening } from "../runtime/port-probe.js";
import { readStopped, stoppedMessage } from "../runtime/stop-marker.js";
import { isHolderAlive, readLock } from "../runtime/lock-file.js";
import { managerLockPath } from "../config/paths.js";
import { UpstreamError } from "../upstream/upstream-error.js";

export { DaemonUnavailable, type DaemonAddress };

const POLL_MS = 100;

/** Where a proxy connects: a daemon it may start (from the config), or a fixed URL it only waits for. */
export type DaemonTarget =
  | { kind: "url"; url: URL; startTimeoutMs: number }
  | { kind: "configured"; server: ServerConfig; home: string; managerPort: number; configFile?: string; project: string };

/**
 * Makes sure the target's daemon answers and returns where. Order: the daemon itself (its lock's live holder,
 * or our daemon on its configured port, proven to be this home's) -> the manager's `/ensure`, so that it
 * supervises what it starts -> starting it ourselves under the lock, when no manager runs.
 * A daemon stopped on purpose is not started again; the error says how to start it.
 */
export async function ensureDaemon(target: DaemonTarget, log: (line: string) => void): Promise<DaemonAddress> {
  if (target.kind === "url") return { url: await waitForUrl(target.url, target.startTimeoutMs) };
  const { server, home } = target;
  if (server.disabled) throw new DaemonUnavailable(`server "${server.name}" is disabled in the config ("disabled": true)`);

  const found = await findDaemon(server, home);
  if (found) return found.address;
  const stopped = readStopped(server.name, home);
  if (stopped) throw new DaemonUnavailable(stoppedMessage(server.name, stopped));

  // A manager of this home keeps its lock file: without a live holder there is none to ask.
  const managerLock = readLock(managerLockPath(home));
  const running = managerLock && isHolderAlive(managerLock) ? await pingManager(target.managerPort, home) : undefined;
  // A manager of an earlier version refuses to start a daemon for a server given by URL (it had none), so for such
  // a server only one of this version is asked (semver stays out of the proxy; a newer one adopts it later).
  const manager = running && isRemote(server) && running.version !== VERSION ? undefined : running;
  if (running && !manager)
    log(`the manager runs version ${running.version}, not ${VERSION}: starting the daemon of "${server.name}" directly`);
  if (manager) {
    const answer = await callManager(manager, "/ensure", {
      body: { name: server.name, project: target.project },
      timeoutMs: server.startTimeoutMs + 5000,
    }).catch((error: Error) => ({ status: 0, body: { error: `the manager did not answer /ensure: ${error.message}` } }));
    const body = answer.body as Partial<AddressFields> | undefined;
    if (answer.status === 200 && typeof body?.url === "string") {
      const address = addressFrom({ ...body, url: body.url });
      // The manager says where; the daemon there still proves itself before it is told anything.
      const proven = await probeDaemon(address, server.name, home);
      if (proven) return { ...address, credential: proven.credential };
      // Most likely replaced since the manager answered (restarts come back to back): asked again shortly.
      throw new UpstreamError(
        `the manager reported "${server.name}" at ${body.url}, but no daemon of this home proves itself there`,
        "unreachable",
        {
          delivered: false,
        },
      );
    }
    // A manager that refuses (failed, stopped, unauthorized) has the final word. One that is gone, or that
    // runs another config without this server (404), does not: the proxy starts the daemon itself.
    if (answer.status !== 0 && answer.status !== 404) throw new DaemonUnavailable(answerError(answer));
    log(`${answerError(answer)}; starting the daemon directly`);
  }

  // Loaded only here: a proxy that finds its daemon running (the common case) never needs the starting code.
  const { startDaemon } = await import("../runtime/start-daemon.js");
  const started = await startDaemon(server, {
    home,
    log,
    deadline: Date.now() + server.startTimeoutMs,
    firstProject: target.project,
    provenOnSessionSocket: true,
    ...(target.configFile ? { configFile: target.configFile } : {}),
  });
  return started.address;
}

async function waitForUrl(url: URL, timeoutMs: number): Promise<URL> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await isListening(url)) return url;
    if (Date.now() >= deadline) throw new DaemonUnavailable(`nothing answers at ${url.origin} (waited ${timeoutMs} ms)`);
    await sleep(POLL_MS);
  }
}
