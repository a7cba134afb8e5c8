import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { replaceFile } from "../files/replace-file.js";

/** The command that opens a URL in the user's default browser here. */
function opener(url: string): [string, string[]] {
  if (process.platform === "darwin") return ["open", [url]];
  // `start` is a cmd built-in; its first quoted argument is a window title.
  if (process.platform === "win32") return ["cmd", ["/c", "start", '""', url]];
  return ["xdg-open", [url]];
}

/**
 * Asks the desktop to open `url`; false when there is no way to (no opener, or it failed at once). The link's
 * secret must not show in a command line (other users see those): what is opened is a user-only file in the
 * home that sends the browser on to the link.
 */
export function openInBrowser(url: string, home: string): Promise<boolean> {
  const file = join(home, "status-page.html");
  const html = `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=${url}"><title>mcp-session-manager</title>\n`;
  replaceFile(file, html);
  const [command, args] = opener(pathToFileURL(file).href);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "ignore", detached: true, windowsHide: true });
    // This process waits for the opener's verdict (kept alive by it and the timer), then lets it go.
    const done = (opened: boolean) => {
      clearTimeout(timer);
      child.unref();
      resolve(opened);
    };
    child.once("error", () => done(false));
    child.once("exit", (code) => done(code === 0));
    // Some openers stay until the browser closes: still running after a moment means it is opening.
    const timer = setTimeout(() => done(true), 3000);
  });
}
