import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { projectPath } from "../../src/protocol/project-path.js";

test("a session's project: CLAUDE_PROJECT_DIR, else the nearest .git or .claude/memory.db above, never home or /, else the cwd", (t) => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "msm-project-")));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const home = join(root, "home");
  const repo = join(home, "repo");
  const deeper = join(repo, "sub", "deeper");
  mkdirSync(deeper, { recursive: true });
  mkdirSync(join(repo, ".git"));
  assert.equal(projectPath({}, deeper, home), repo, "started in a subdirectory: the repository");
  assert.equal(projectPath({ CLAUDE_PROJECT_DIR: deeper }, repo, home), deeper, "CLAUDE_PROJECT_DIR wins");
  assert.equal(projectPath({ CLAUDE_PROJECT_DIR: "sub" }, repo, home), join(repo, "sub"), "relative to the working directory");

  const worktree = join(home, "worktree");
  mkdirSync(join(worktree, "src"), { recursive: true });
  writeFileSync(join(worktree, ".git"), "gitdir: /elsewhere\n");
  assert.equal(projectPath({}, join(worktree, "src"), home), worktree, "a worktree's .git file counts");

  const notes = join(home, "notes");
  mkdirSync(join(notes, ".claude"), { recursive: true });
  mkdirSync(join(notes, "a"));
  writeFileSync(join(notes, ".claude", "memory.db"), "");
  assert.equal(projectPath({}, join(notes, "a"), home), notes, "a directory with a memory graph counts");

  const shared = join(home, "shared");
  mkdirSync(join(shared, ".claude"), { recursive: true });
  writeFileSync(join(shared, ".claude", "memory.db"), "");
  chmodSync(shared, 0o1777); // like /tmp: anyone may plant a marker there
  mkdirSync(join(shared, "mine"));
  assert.equal(projectPath({}, join(shared, "mine"), home), join(shared, "mine"), "a directory others may write is never the project");

  mkdirSync(join(home, ".git"));
  const loose = join(home, "loose", "dir");
  mkdirSync(loose, { recursive: true });
  assert.equal(projectPath({}, loose, home), loose, "the home directory is never the project, even with a .git");
  assert.equal(projectPath({}, home, home), home, "started in the home directory: the working directory");
});
