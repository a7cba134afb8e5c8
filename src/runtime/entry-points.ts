import { fileURLToPath } from "node:url";

/** The installed `mcp-manager` script, absolute: what starts daemons, the detached manager and autostart units. */
export const managerScript = (): string => fileURLToPath(new URL("../manager/index.js", import.meta.url));

/** The installed `mcp-proxy` script, absolute, so a client entry works whatever directory it is started in. */
export const proxyScript = (): string => fileURLToPath(new URL("../proxy/index.js", import.meta.url));
