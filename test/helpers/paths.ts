import { fileURLToPath } from "node:url";

/** Tests run from dist-test/test/; the repository root is two levels up. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const PROXY = `${ROOT}dist/proxy/index.js`;
export const MANAGER = `${ROOT}dist/manager/index.js`;
/** What starters run for a daemon: `node --expose-gc DAEMON [--config FILE] NAME`. */
export const DAEMON = `${ROOT}dist/daemon/index.js`;
export const EVERYTHING = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;
export const FIXTURES = `${ROOT}dist-test/test/fixtures/`;
/** The stdio probe server (test/fixtures/stdio-probe-server.ts), built as CommonJS: it is started hundreds of times. */
export const PROBE_SERVER = `${FIXTURES}stdio-probe-server.cjs`;
