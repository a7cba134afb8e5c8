import { spawn } from "node:child_process";

/** The command that opens a URL in the user's default browser here. */
function opener(url: string): [string, string[]] {
  if (process.platform === "darwin") return ["open", [url]];
  // `start` is a cmd built-in; its first quoted argument is a window title.
  if (process.platform === "win32") return ["cmd", ["/c", "start", '""', url]];
  return ["xdg-open", [url]];
}

/** Asks the desktop to open `url`; false when there is no way to (no opener, or it failed at once). */
export function openInBrowser(url: string): Promise<boolean> {
  const [command, args] = opener(url);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore", detached: true, windowsHide: true });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
    // Some openers stay until the browser closes: still running after a moment means it is opening.
    setTimeout(() => resolve(true), 3000).unref();
    child.unref();
  });
}
