import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const PROXY = `${ROOT}dist/proxy/index.js`;
export const EVERYTHING = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, "close");
  return port;
}

/** server-everything over streamable HTTP on a free loopback port. */
export async function startEverythingHttp(): Promise<{ url: URL; child: ChildProcess; stop: () => void }> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let text = "";
  child.stderr.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (chunk: string) => {
      text += chunk;
      if (/listening on port/.test(text)) resolve();
    });
    child.once("exit", () => reject(new Error(`server-everything exited: ${text}`)));
  });
  child.stderr.resume();
  return { url: new URL(`http://127.0.0.1:${port}/mcp`), child, stop: () => child.kill("SIGKILL") };
}
