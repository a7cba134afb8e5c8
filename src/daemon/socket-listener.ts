import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import type net from "node:net";
import { canBeUnixSocket } from "../config/paths.js";

/**
 * Listens on a Unix domain socket in the user-only home directory: local clients skip the TCP stack, and the
 * file's permissions keep other users out. None on Windows, or where the path is too long for a socket.
 */
export async function listenOnSocket<T extends net.Server>(
  path: string,
  server: T,
  log: (line: string) => void,
): Promise<SocketListener<T> | undefined> {
  if (!canBeUnixSocket(path)) return undefined;
  removeFile(path); // left by a daemon that died: we hold the lock now
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    return { server, path, inode: lstatSync(path).ino };
  } catch (error) {
    log(`not listening on ${path} (${(error as Error).message}); clients use TCP instead`);
    return undefined;
  }
}

export interface SocketListener<T extends net.Server> {
  server: T;
  path: string;
  /** The socket file's inode: another daemon that took our place binds a file of its own at the same path. */
  inode: number;
}

/**
 * Stops listening on a Unix socket. Closing unlinks the path whatever file it names now, so a listener whose file
 * was replaced by another daemon's is left open instead: nobody can reach it any more, and it ends with us.
 */
export function closeSocket(listener: SocketListener<net.Server>): void {
  if (stillOurs(listener)) listener.server.close();
  else listener.server.unref();
}

/** Whether the listener's path names its own socket file, or nothing (removed by hand): no other daemon's. */
export function stillOurs(listener: SocketListener<net.Server>): boolean {
  try {
    return lstatSync(listener.path).ino === listener.inode;
  } catch {
    return true;
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}
