import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Who listens on a loopback TCP port, as far as this user may see: the owner's uid always, its process when ours. */
export interface PortOwner {
  uid: number;
  user?: string;
  pid?: number;
  command?: string;
}

/**
 * The listener on TCP `port`, read from Linux's /proc/net/tcp{,6} (which show every socket's uid and inode) and
 * the /proc/PID/fd links this user may read. Undefined elsewhere, or when nothing listens. Used to name a
 * stranger in an error, and to refuse another user's listener; never to trust one.
 */
export function portOwner(port: number): PortOwner | undefined {
  if (process.platform !== "linux") return undefined;
  const listener = listeningSocket(port);
  if (!listener) return undefined;
  const owner: PortOwner = { uid: listener.uid };
  const user = userName(listener.uid);
  if (user) owner.user = user;
  const pid = socketHolder(listener.inode);
  if (pid !== undefined) {
    owner.pid = pid;
    try {
      owner.command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").slice(0, 200);
    } catch {
      // gone meanwhile
    }
  }
  return owner;
}

/**
 * The error for a port that something other than `expected` holds: who it is, that nothing was sent to it, and
 * what to do about it.
 */
export function portInUse(port: number, expected: string, server: string): string {
  return (
    `port ${port} is in use by ${describePortOwner(port)}, which is not ${expected} (nothing was sent to it); ` +
    `stop that process or change "port" for "${server}" in the config`
  );
}

/**
 * The uid of the listener on TCP `port`, from /proc/net/tcp{,6} alone (Linux; undefined elsewhere, or when nothing
 * listens): cheap where portOwner, which looks through every process for the socket, is not.
 */
export function listenerUid(port: number): number | undefined {
  return process.platform === "linux" ? listeningSocket(port)?.uid : undefined;
}

/** "pid 123 (python3 -m http.server) of user bob", as much of it as is known; "another process" when nothing is. */
export function describePortOwner(port: number, owner = portOwner(port)): string {
  if (!owner) return "another process";
  const who = owner.user ? `user ${owner.user}` : `uid ${owner.uid}`;
  if (owner.pid === undefined) return `a process of ${who}`;
  return `pid ${owner.pid}${owner.command ? ` (${JSON.stringify(owner.command).slice(1, -1)})` : ""} of ${who}`;
}

const LISTEN = "0A";

function listeningSocket(port: number): { uid: number; inode: string } | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== LISTEN || !fields[1]!.endsWith(`:${hexPort}`)) continue;
      return { uid: Number(fields[7]), inode: fields[9]! };
    }
  }
  return undefined;
}

function socketHolder(inode: string): number | undefined {
  const link = `socket:[${inode}]`;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // another user's process
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === link) return Number(entry);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // no passwd file
  }
  return undefined;
}
