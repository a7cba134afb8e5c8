import type { ChildProcess } from "node:child_process";

/** The daemon could not be found or started; the message says why and where to look. */
export class DaemonUnavailable extends Error {
  override name = "DaemonUnavailable";
}

/** The daemon's configured port is held by a process that is not this home's daemon: no crash, a wait. */
export class PortTaken extends DaemonUnavailable {
  override name = "PortTaken";
}

/**
 * Where a daemon answers: its URL, a Unix socket serving the same HTTP, and its session socket, when it has them;
 * and, once it proved to be ours, the credential its HTTP wants (kept in memory only, never written down).
 */
export interface DaemonAddress {
  url: URL;
  socketPath?: string;
  sessionSocket?: string;
  /** The newest session socket protocol the daemon speaks, when it is newer than the first (protocol/session-socket.ts). */
  sessionProtocol?: string;
  credential?: string;
}

/** How an address is written down: in a lock file, and in the manager's answers. */
export interface AddressFields {
  url: string;
  socket?: string;
  sessionSocket?: string;
  sessionProtocol?: string;
}

export function addressFields(address: DaemonAddress): AddressFields {
  const fields: AddressFields = { url: address.url.href };
  if (address.socketPath) fields.socket = address.socketPath;
  if (address.sessionSocket) fields.sessionSocket = address.sessionSocket;
  if (address.sessionProtocol) fields.sessionProtocol = address.sessionProtocol;
  return fields;
}

export function addressFrom(fields: AddressFields): DaemonAddress {
  const address: DaemonAddress = { url: new URL(fields.url) };
  if (typeof fields.socket === "string") address.socketPath = fields.socket;
  if (typeof fields.sessionSocket === "string") address.sessionSocket = fields.sessionSocket;
  if (typeof fields.sessionProtocol === "string") address.sessionProtocol = fields.sessionProtocol;
  return address;
}

/** A daemon found running or just started. */
export interface RunningDaemon {
  address: DaemonAddress;
  pid: number;
  /** The start time of `pid`, when known: a recycled pid is not mistaken for the daemon. */
  pidStarted?: string;
  /** Set when this process spawned the daemon (its exit is then reported to us directly). */
  child?: ChildProcess;
}
