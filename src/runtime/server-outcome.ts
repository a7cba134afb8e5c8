import { isRemote, shownUrl, type ServerConfig } from "../config/server-config.js";
import { lockPath } from "../config/paths.js";
import { restartsSoFar, troubledChild } from "./daemon-health.js";
import { answers } from "./find-daemon.js";
import { isHolderAlive, readLock } from "./lock-file.js";
import { isListening } from "./port-probe.js";

/** How often a server that was just started is asked how it fares, until it is up or known not to be. */
const SETTLE_POLL_MS = 100;

/** Up (`note` when it was still starting at the deadline), or not, and why, in words that follow "but". */
export type ServerOutcome = { ok: true; note?: string } | { ok: false; why: string };

/**
 * What became of a server whose daemon was just started or restarted: a daemon that runs says nothing yet of its
 * server (an HTTP server, or a stdio server its sessions came back to, starts with it). Up once none of its
 * servers is starting or waiting to be restarted, by `deadline`; not up when its server was given up on, or at
 * the deadline when it is still being restarted or its daemon is gone or silent. What `mcp-manager start` and
 * `restart` and the status page's buttons report.
 */
export async function serverOutcome(server: ServerConfig, home: string, deadline: number): Promise<ServerOutcome> {
  for (;;) {
    // The lock is read afresh each time: another restart may have replaced the daemon meanwhile.
    const lock = readLock(lockPath(server.name, home));
    const running = lock !== undefined && isHolderAlive(lock);
    const health = running ? await answers(server, lock, home) : undefined;
    const troubled = health && troubledChild(health);
    if (health && !troubled && !health.children.some((child) => child.state === "starting")) return remoteOutcome(server);
    const why = troubled?.lastError ?? "no reason known";
    if (troubled?.state === "failed") return { ok: false, why: `its server does not start: ${why}` };
    if (Date.now() >= deadline) {
      if (troubled) return { ok: false, why: `its server does not start (${restartsSoFar(troubled)}): ${why}` };
      if (!health) return { ok: false, why: running ? "its daemon does not answer" : "its daemon is not running" };
      return { ok: true, note: "its server is still starting" };
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}

/** A server given by URL is not ours to start: its daemon runs, and whether the server takes connections is said. */
async function remoteOutcome(server: ServerConfig): Promise<ServerOutcome> {
  if (!isRemote(server) || (await isListening(new URL(server.url)))) return { ok: true };
  return { ok: true, note: `${shownUrl(server.url)} does not take connections now: sessions wait for it (up to startTimeoutMs)` };
}
