// preparedPluginDir(): the plain-JS plugin directory OpenClaw links (plugin/src/bundle.ts). The e2e
// test runs it inside a real gateway; here: layout, caching, and that it is self-contained (a copy
// outside the repository, with no node_modules in reach, loads and decides).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { preparedPluginDir, sourceHash } from "../src/bundle.ts";

const tmp = mkdtempSync(join(tmpdir(), "tropic-bundle-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe("preparedPluginDir", () => {
  test("writes manifest, package.json (openclaw.extensions ./index.mjs), the bundle and the Cedar wasm; cached by source hash", async () => {
    const out = join(tmp, "a");
    assert.equal(await preparedPluginDir({ outDir: out }), out);
    const pkg = JSON.parse(readFileSync(join(out, "package.json"), "utf8"));
    assert.deepEqual(pkg.openclaw, { extensions: ["./index.mjs"] });
    assert.equal(pkg.type, "module");
    assert.equal(pkg.dependencies, undefined);
    assert.equal(JSON.parse(readFileSync(join(out, "openclaw.plugin.json"), "utf8")).id, "tropic-gate");
    assert.ok(existsSync(join(out, "cedar_wasm_bg.wasm")));
    const js = readFileSync(join(out, "index.mjs"), "utf8");
    assert.doesNotMatch(js, /from "@tropic\/|from "\.\/src\//, "workspace code is inlined");
    // V8 keeps a module's source for lazy compilation; one non-Latin-1 character makes it a two-byte string
    assert.doesNotMatch(js, /[^\x00-\x7f]/, "the bundle is ASCII");
    assert.equal(readFileSync(join(out, ".source-hash"), "utf8").trim(), sourceHash());

    const m1 = statSync(join(out, "index.mjs")).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    await preparedPluginDir({ outDir: out });
    assert.equal(statSync(join(out, "index.mjs")).mtimeMs, m1, "unchanged sources: not rebuilt");
    await preparedPluginDir({ outDir: out, force: true });
    assert.notEqual(statSync(join(out, "index.mjs")).mtimeMs, m1, "force: rebuilt");
  });

  test("the directory is self-contained: loaded from outside the repository it registers and decides", async () => {
    const out = await preparedPluginDir({ outDir: join(tmp, "b") });
    const home = join(tmp, "home");
    const code = `
      const mod = await import(${JSON.stringify(join(out, "index.mjs"))});
      const hooks = {};
      mod.default.register({ pluginConfig: {}, config: {}, logger: { info() {}, warn() {}, error: console.error },
        on: (n, h) => { hooks[n] = h; }, registerAgentToolResultMiddleware() {} });
      const r = await hooks.before_tool_call({ toolName: "exec", params: { command: "rm -rf /srv/data" } }, { agentId: "main" });
      console.log(JSON.stringify(r));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
      cwd: tmp,
      env: { PATH: process.env.PATH, HOME: home, OPENCLAW_STATE_DIR: join(home, ".openclaw") },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(res.block, true);
    assert.match(res.blockReason, /base-deny-rm-rf/);
  });
});
