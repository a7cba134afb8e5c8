import { spawn } from "node:child_process";
import net from "node:net";

/**
 * A process that only copies bytes, for the floor of the shared daemon's path: `listen SOCKET COMMAND...` runs
 * COMMAND and joins the first connection on SOCKET to its stdio (a daemon that does nothing else); `connect
 * SOCKET` joins its own stdio to SOCKET (a proxy that does nothing else). Two of them between a client and a
 * server cost what any design with a proxy and a daemon must pay on this machine: three processes' wake-ups a
 * message instead of one.
 */
const [role, path, command, ...args] = process.argv.slice(2);
if (role === "listen" && path && command) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "ignore"] });
  const server = net.createServer((socket) => {
    socket.pipe(child.stdin);
    child.stdout.pipe(socket);
  });
  // Gone with whoever started it: its stdin closes then, even when it was killed.
  process.stdin.resume().on("end", () => {
    child.kill();
    server.close();
    process.exit(0);
  });
  server.listen(path, () => process.stdout.write("listening\n"));
} else if (role === "connect" && path) {
  const socket = net.connect(path);
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  socket.on("close", () => process.exit(0));
} else {
  process.stderr.write("usage: byte-relay listen SOCKET COMMAND [ARGS...] | byte-relay connect SOCKET\n");
  process.exit(2);
}
