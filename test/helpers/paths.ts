import { fileURLToPath } from "node:url";

/** Tests run from dist-test/test/; the repository root is two levels up. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const PROXY = `${ROOT}dist/proxy/index.js`;
export const MANAGER = `${ROOT}dist/manager/index.js`;
export const EVERYTHING = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;
export const FIXTURES = `${ROOT}dist-test/test/fixtures/`;
