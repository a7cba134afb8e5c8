import { logPath } from "../config/paths.js";
import type { ManagerIdentity } from "../runtime/manager-client.js";
import { residentBytes } from "../process/resident-memory.js";
import { VERSION } from "../version.js";
import type { DaemonReport } from "./daemon-state.js";
import type { SupervisedDaemon } from "./supervisor.js";

/** What a status snapshot needs from the running manager. */
export interface SnapshotSource {
  readonly home: string;
  readonly port: number;
  readonly startedAt: number;
  /** Every supervised daemon, once the config file as it is now is applied. */
  daemons(): Promise<SupervisedDaemon[]>;
  configFile(): string | undefined;
  configError(): string | undefined;
}

/** Everything the manager knows, as `/status` answers it with the token and as the status page shows it. */
export interface StatusSnapshot {
  manager: ManagerIdentity & { uptimeMs: number; config: string | null; configError: string | null; rssBytes?: number };
  daemons: DaemonReport[];
}

export function managerIdentity(source: Pick<SnapshotSource, "home" | "port">): ManagerIdentity {
  return { service: "mcp-session-manager", role: "manager", version: VERSION, pid: process.pid, home: source.home, port: source.port };
}

/**
 * One source for `/status` (with the token), `mcp-manager status --json` and the status page: each daemon's
 * report with what its `/health` says, and the resident memory of the manager, each daemon and each child.
 */
export async function statusSnapshot(source: SnapshotSource): Promise<StatusSnapshot> {
  const supervised = await source.daemons();
  // One daemon whose report fails (a strange answer, a probe that throws) is a row saying so, not a failed snapshot.
  const daemons = (await Promise.allSettled(supervised.map((daemon) => daemon.report()))).map((settled, index): DaemonReport =>
    settled.status === "fulfilled"
      ? settled.value
      : {
          name: supervised[index]!.name,
          state: supervised[index]!.knownState(),
          transport: supervised[index]!.server.transport,
          lastError: `status not available: ${(settled.reason as Error).message}`,
          log: logPath(supervised[index]!.name, source.home),
        },
  );
  const pids = daemons.flatMap((daemon) => [daemon.pid, ...(daemon.children ?? []).map((child) => child.pid)]);
  const memory = residentBytes([process.pid, ...pids.filter((pid): pid is number => pid !== undefined)]);
  for (const daemon of daemons) {
    if (daemon.pid !== undefined && memory.has(daemon.pid)) daemon.rssBytes = memory.get(daemon.pid)!;
    for (const child of daemon.children ?? []) {
      // The built-in memory server runs inside its daemon: the daemon's figure already counts it.
      if (child.pid !== undefined && child.pid !== daemon.pid && memory.has(child.pid)) child.rssBytes = memory.get(child.pid)!;
    }
  }
  return {
    manager: {
      ...managerIdentity(source),
      uptimeMs: Date.now() - source.startedAt,
      config: source.configFile() ?? null,
      configError: source.configError() ?? null,
      ...(memory.has(process.pid) ? { rssBytes: memory.get(process.pid)! } : {}),
    },
    daemons,
  };
}
