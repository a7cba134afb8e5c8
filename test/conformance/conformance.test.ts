import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { startProxyAdapter } from "./proxy-http-adapter.js";
import { onCleanup } from "../helpers/cleanup.js";
import { configuredHome } from "../helpers/daemon-home.js";
import { FIXTURES, MANAGER, ROOT } from "../helpers/paths.js";
import { spawnTracked, waitForOutput } from "../helpers/processes.js";

const CLI = `${ROOT}node_modules/@modelcontextprotocol/conformance/dist/index.js`;
const NODE20_SHIM = `${ROOT}test/conformance/node20-fs-glob.mjs`;
const BEARER_FETCH = `${ROOT}test/conformance/bearer-fetch.mjs`;
/** The active server suite of conformance 0.1.16 has 39 checks; fewer would mean scenarios silently skipped. */
const EXPECTED_CHECKS = 39;

/**
 * Runs `conformance server --url URL` and returns its tally and its output (kept off our own stdout); with
 * `bearer`, its requests carry that token, as a client configured with headers sends it.
 */
async function runConformance(url: string, bearer?: string): Promise<{ passed: number; failed: number; output: string }> {
  const child = spawn(process.execPath, ["--import", NODE20_SHIM, "--import", BEARER_FETCH, CLI, "server", "--url", url], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...(bearer ? { MSM_CONFORMANCE_BEARER: bearer } : {}) },
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.once("exit", resolve));
  const tally = /Total: (\d+) passed, (\d+) failed/.exec(output);
  assert.ok(tally, `no tally in the conformance output:\n${output}`);
  return { passed: Number(tally[1]), failed: Number(tally[2]), output };
}

function failures(output: string): string {
  return output
    .split("\n")
    .filter((line) => /✗|FAIL/.test(line))
    .join("\n");
}

describe("official MCP conformance suite (server scenarios) against a stdio server we host", () => {
  test("through the daemon", async (t) => {
    const daemon = configuredHome(t, { conf: { command: process.execPath, args: [`${FIXTURES}conformance-server.js`] } });
    const host = spawnTracked(t, process.execPath, [MANAGER, "daemon", "conf"], { env: daemon.env });
    const log = await waitForOutput(host.stderr!, (text) => /listening on http:\/\/\S+/.test(text), "the daemon listened");
    const url = /listening on (http:\/\/\S+)/.exec(log)![1]!;
    const result = await runConformance(url, daemon.token());
    assert.equal(result.failed, 0, failures(result.output));
    assert.ok(result.passed >= EXPECTED_CHECKS, `only ${result.passed} checks ran`);
  });

  test("through mcp-proxy and the daemon", async (t) => {
    const daemon = configuredHome(t, { conf: { command: process.execPath, args: [`${FIXTURES}conformance-server.js`] } });
    const adapter = await startProxyAdapter(["--target", "conf"], daemon.env);
    onCleanup(t, () => adapter.close());
    const result = await runConformance(adapter.url);
    assert.equal(result.failed, 0, failures(result.output));
    assert.ok(result.passed >= EXPECTED_CHECKS, `only ${result.passed} checks ran`);
  });
});
