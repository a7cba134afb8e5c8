import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { managerLogPath } from "../config/paths.js";
import { managerScript } from "../runtime/entry-points.js";

export const UNIT_NAME = "mcp-session-manager.service";
export const AGENT_LABEL = "dev.mcp-session-manager";

/** What starts the manager at login: this node, this manager, every daemon; the home passed on when not the default. */
export interface AutostartSpec {
  node: string;
  manager: string;
  configFile?: string;
  home?: string;
}

export function autostartSpec(configFile: string | undefined): AutostartSpec {
  const spec: AutostartSpec = { node: process.execPath, manager: managerScript() };
  if (configFile) spec.configFile = configFile;
  if (process.env.MCP_SESSION_MANAGER_HOME) spec.home = process.env.MCP_SESSION_MANAGER_HOME;
  return spec;
}

const commandLine = (spec: AutostartSpec) => [
  spec.node,
  spec.manager,
  ...(spec.configFile ? ["--config", spec.configFile] : []),
  "start",
  "--start-all",
];

/** systemd quoting: each word in double quotes, with backslashes and quotes escaped, `%` doubled. */
const systemdWord = (word: string) => `"${word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/%/g, "%%")}"`;

export function systemdUnit(spec: AutostartSpec): string {
  return [
    "[Unit]",
    "Description=mcp-session-manager: shared MCP daemons for every client session",
    "",
    "[Service]",
    "Type=simple",
    `ExecStart=${commandLine(spec).map(systemdWord).join(" ")}`,
    ...(spec.home ? [`Environment=${systemdWord(`MCP_SESSION_MANAGER_HOME=${spec.home}`)}`] : []),
    "Restart=on-failure",
    "RestartSec=5",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function launchdAgent(spec: AutostartSpec, logFile: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    `  <key>Label</key><string>${AGENT_LABEL}</string>`,
    "  <key>ProgramArguments</key>",
    "  <array>",
    ...commandLine(spec).map((word) => `    <string>${xml(word)}</string>`),
    "  </array>",
    ...(spec.home
      ? [
          "  <key>EnvironmentVariables</key>",
          "  <dict>",
          `    <key>MCP_SESSION_MANAGER_HOME</key><string>${xml(spec.home)}</string>`,
          "  </dict>",
        ]
      : []),
    "  <key>RunAtLoad</key><true/>",
    "  <key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>",
    `  <key>StandardOutPath</key><string>${xml(logFile)}</string>`,
    `  <key>StandardErrorPath</key><string>${xml(logFile)}</string>`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

/** The Windows recipe: a Task Scheduler task at logon (no service, no administrator rights). */
export function windowsRecipe(spec: AutostartSpec): string {
  const quoted = commandLine(spec)
    .map((word) => (/[\s"]/.test(word) ? `\\"${word}\\"` : word))
    .join(" ");
  return [
    "On Windows, register a Task Scheduler task that starts the manager when you log on:",
    `  schtasks /Create /SC ONLOGON /TN mcp-session-manager /RL LIMITED /F /TR "${quoted}"`,
    "and remove it with:",
    "  schtasks /Delete /TN mcp-session-manager /F",
    ...(spec.home ? [`(set MCP_SESSION_MANAGER_HOME=${spec.home} in your user environment first)`] : []),
  ].join("\n");
}

export function unitPath(home = homedir()): string {
  return join(process.env.XDG_CONFIG_HOME || join(home, ".config"), "systemd", "user", UNIT_NAME);
}

export function agentPath(home = homedir()): string {
  return join(home, "Library", "LaunchAgents", `${AGENT_LABEL}.plist`);
}

/** Runs a service manager command; its failure is reported, not thrown: the file is what matters. */
function tryRun(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) return (result.error as NodeJS.ErrnoException).code === "ENOENT" ? `${command} is not installed` : result.error.message;
  if (result.status !== 0) return (result.stderr || result.stdout || `exit code ${result.status}`).trim().split("\n")[0];
  return undefined;
}

/** `mcp-manager autostart install|uninstall`: the platform's per-user way of starting the manager at login. */
export function autostart(action: "install" | "uninstall", spec: AutostartSpec, home: string, dryRun: boolean): string {
  if (process.platform === "win32") return windowsRecipe(spec) + "\n";
  const mac = process.platform === "darwin";
  const file = mac ? agentPath() : unitPath();
  const content = mac ? launchdAgent(spec, managerLogPath(home)) : systemdUnit(spec);
  const lines: string[] = [];
  if (action === "install") {
    if (dryRun) return `would write ${file}:\n${content}`;
    const unchanged = existsSync(file) && readFileSync(file, "utf8") === content;
    mkdirSync(dirname(file), { recursive: true });
    if (!unchanged) writeFileSync(file, content, { mode: 0o644 });
    lines.push(`${unchanged ? "unchanged" : "wrote"} ${file}`);
    const problem = mac
      ? tryRun("launchctl", ["load", "-w", file])
      : (tryRun("systemctl", ["--user", "daemon-reload"]) ?? tryRun("systemctl", ["--user", "enable", "--now", UNIT_NAME]));
    const enable = mac ? `launchctl load -w ${file}` : `systemctl --user daemon-reload && systemctl --user enable --now ${UNIT_NAME}`;
    lines.push(
      problem ? `could not enable it here (${problem}); enable it with: ${enable}` : "enabled: the manager starts at login, and now",
    );
  } else {
    if (!existsSync(file)) return `no autostart entry at ${file}; nothing to remove\n`;
    if (dryRun) return `would disable and remove ${file}\n`;
    const problem = mac ? tryRun("launchctl", ["unload", "-w", file]) : tryRun("systemctl", ["--user", "disable", "--now", UNIT_NAME]);
    unlinkSync(file);
    if (!mac) tryRun("systemctl", ["--user", "daemon-reload"]);
    lines.push(`removed ${file}`);
    if (problem) lines.push(`(could not disable it through the service manager: ${problem}; it will not start at the next login)`);
  }
  return lines.join("\n") + "\n";
}
