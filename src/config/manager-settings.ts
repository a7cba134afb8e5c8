/** The manager's settings (the config's `manager` key), with their defaults: without the config's schema, which a daemon on an unchanged config never loads. */
/** How mcp-manager supervises daemons, with every default applied. */
export interface ManagerSettings {
  /** The API's port on 127.0.0.1. */
  port: number;
  /** How often each running daemon's health is checked. */
  healthIntervalMs: number;
  /** Restarts in a row (each after a crash within a minute of its start) before a daemon is left `failed`. */
  restartLimit: number;
  /** The delay before the second restart in a row (the first is immediate); doubled per further crash, up to 30 s. */
  restartBackoffMs: number;
  /** A log file larger than this is rotated to `<name>.log.1` (older ones shift up). */
  logMaxBytes: number;
  /** How many rotated files are kept besides the live one. */
  logFiles: number;
}

export const DEFAULT_MANAGER_SETTINGS: ManagerSettings = {
  port: 3199,
  healthIntervalMs: 30_000,
  restartLimit: 5,
  restartBackoffMs: 1000,
  logMaxBytes: 10 * 1024 * 1024,
  logFiles: 3,
};
