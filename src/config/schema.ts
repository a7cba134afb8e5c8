// zod's v3 API (shipped and kept by zod 4): it loads in ~10 ms and ~4 MB where the v4 core takes ~60 ms and
// ~14 MB, and a proxy checks each new text of the config (checked-config.ts). See docs/benchmarks.md.
import { z } from "zod/v3";
import { isHttpUrl } from "./http-url.js";
import { TRANSPORTS, TYPE_ALIASES, resolveTransport } from "./transports.js";

/**
 * Server names become file names (`<name>.lock`, `<name>.log`) and URL parts, so keep them plain. None ends in
 * `.session`: the HTTP socket of `x.session` would be `x`'s session socket, `x.session.sock`.
 */
export const SERVER_NAME = /^(?!.*\.session$)[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const SCOPES = ["shared", "project", "session"] as const;
export type Scope = (typeof SCOPES)[number];

const port = z.number().int().min(1).max(65535);

const serverEntry = z
  .object({
    builtin: z.enum(["memory"]).optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().min(1).optional(),
    transport: z.enum(TRANSPORTS).optional(),
    type: z.string().optional(),
    port: port.optional(),
    url: z.string().refine(isHttpUrl, 'must be an http(s) URL, such as "http://127.0.0.1:3000/mcp"').optional(),
    path: z.string().startsWith("/").optional(),
    scope: z.enum(SCOPES).optional(),
    startTimeoutMs: z.number().int().min(100).max(600_000).optional(),
    sessionIdleTimeoutMs: z.number().int().min(1000).optional(),
    drainTimeoutMs: z.number().int().min(0).max(3_600_000).optional(),
    childIdleTimeoutMs: z.number().int().min(0).optional(),
    maxSessions: z.number().int().min(1).max(100_000).optional(),
    disabled: z.boolean().default(false),
  })
  .strict()
  .superRefine((entry, ctx) => {
    const kinds = [entry.builtin && "builtin", entry.command && "command", entry.url && "url"].filter(Boolean);
    if (entry.builtin && entry.command) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["command"], message: "a builtin server takes no command" });
    }
    if (entry.builtin && entry.url) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["url"], message: 'a builtin server takes no "url" (give "port")' });
    }
    if (kinds.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [], message: 'needs one of "command", "url" or "builtin"' });
    }
    if (entry.type !== undefined && !(entry.type in TYPE_ALIASES)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["type"],
        message: `unknown type "${entry.type}" (use one of ${Object.keys(TYPE_ALIASES).join(", ")})`,
      });
    }
    const transport = resolveTransport(entry);
    if (transport !== "stdio" && entry.command && entry.port === undefined && entry.url === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["port"],
        message: `a ${transport} server started from "command" needs the "port" (or "url") it listens on`,
      });
    }
    if (transport === "stdio" && entry.url) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["transport"], message: 'a "url" server needs an HTTP transport' });
    }
    if (entry.url && entry.port !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["port"], message: 'give "url" or "port", not both' });
    }
  });

export type ServerEntryInput = z.input<typeof serverEntry>;
export type ParsedEntry = z.output<typeof serverEntry>;

const managerSettings = z
  .object({
    port: port.optional(),
    healthIntervalMs: z.number().int().min(100).max(3_600_000).optional(),
    restartLimit: z.number().int().min(0).max(1000).optional(),
    restartBackoffMs: z.number().int().min(10).max(600_000).optional(),
    logMaxBytes: z.number().int().min(4096).optional(),
    logFiles: z.number().int().min(1).max(100).optional(),
  })
  .strict();

export const configFile = z
  .object({
    /** Kept for configs written before `manager.port` existed. */
    managerPort: port.optional(),
    manager: managerSettings.optional(),
    servers: z.record(z.string(), serverEntry).optional(),
    /** The shape every client uses, accepted so users can paste their existing block. */
    mcpServers: z.record(z.string(), serverEntry).optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    if (file.managerPort !== undefined && file.manager?.port !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["managerPort"], message: 'give "manager.port" or "managerPort", not both' });
    }
    if (file.servers && file.mcpServers) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["mcpServers"], message: 'use "servers" or "mcpServers", not both' });
    }
    const servers = file.servers ?? file.mcpServers ?? {};
    const key = file.servers ? "servers" : "mcpServers";
    for (const name of Object.keys(servers)) {
      if (name === "manager") {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [key, name],
          message: 'the name "manager" is taken by mcp-manager\'s own files (manager.lock, manager.log): choose another',
        });
      }
      if (!SERVER_NAME.test(name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [key, name],
          message:
            "server names may use letters, digits, '.', '_' and '-' (at most 64, not starting with a symbol, not ending in .session)",
        });
      }
    }
  });
