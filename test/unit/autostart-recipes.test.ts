import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { launchdAgent, windowsRecipe } from "../../src/manager/autostart.js";

describe("autostart on other systems", () => {
  test("the launchd agent and the Windows task run the same command line, quoted for each", () => {
    const spec = { node: "/opt/node & co/bin/node", manager: "/srv/msm/dist/manager/index.js", home: "/Users/me/.msm <test>" };
    const plist = launchdAgent(spec, "/Users/me/.msm/manager.log");
    const words = [...plist.matchAll(/<string>([^<]*)<\/string>/g)].map((match) => match[1]);
    assert.deepEqual(words.slice(1, 5), ["/opt/node &amp; co/bin/node", "/srv/msm/dist/manager/index.js", "start", "--start-all"]);
    assert.match(plist, /<key>MCP_SESSION_MANAGER_HOME<\/key><string>\/Users\/me\/\.msm &lt;test&gt;<\/string>/);
    assert.match(plist, /<key>RunAtLoad<\/key><true\/>/);
    const recipe = windowsRecipe({ node: "C:\\Program Files\\nodejs\\node.exe", manager: "C:\\msm\\dist\\manager\\index.js" });
    assert.match(
      recipe,
      /schtasks \/Create \/SC ONLOGON \/TN mcp-session-manager .*\/TR "\\"C:\\Program Files\\nodejs\\node\.exe\\" C:\\msm\\dist\\manager\\index\.js start --start-all"/,
    );
    assert.match(recipe, /schtasks \/Delete \/TN mcp-session-manager \/F/);
  });
});
