// The runtime installer, for real: installs (or reuses) Node 24 + openclaw@2026.9.6 from the npm
// registry into the shared test cache (~/.cache/tropic/runtime or $TROPIC_RUNTIME_DIR), the same
// cache the plugin's end-to-end tests use, so a machine downloads it once.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import {
  OPENCLAW_VERSION,
  type Progress,
  installRuntime,
  progressPrinter,
  runtimeDir,
  runtimeStatus,
  testRuntimeDir,
  whatsappPluginDir,
} from "../src/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");

test("an empty directory reports not installed, with the reason", () => {
  const s = runtimeStatus(mkdtempSync(join(tmpdir(), "tropic-rt-")));
  assert.equal(s.installed, false);
  if (!s.installed) assert.match(s.reason, /not installed/);
});

test("runtimeDir: $TROPIC_RUNTIME_DIR, else $TROPIC_DATA_DIR/runtime", () => {
  assert.equal(runtimeDir({ TROPIC_RUNTIME_DIR: "/x/rt" }), "/x/rt");
  assert.equal(runtimeDir({ TROPIC_DATA_DIR: "/data" }), "/data/runtime");
});

test("install is idempotent and concurrent installs share one download; status reports versions; Node 24 runs", { timeout: 900_000 }, async () => {
  const dir = testRuntimeDir();
  const events: Progress[] = [];
  // two at once: one installs (or both reuse), the other waits on the lock
  const [a, b] = await Promise.all([
    installRuntime({ dir, onProgress: (p) => events.push(p) }),
    installRuntime({ dir, onProgress: progressPrinter(process.stderr) }),
  ]);
  assert.equal(a.prefix, b.prefix);
  assert.ok(events.some((e) => e.phase === "done"));
  const t0 = Date.now();
  const again = await installRuntime({ dir });
  assert.equal(again.reused, true);
  assert.ok(Date.now() - t0 < 3000, "a second install reuses the cache");
  const s = runtimeStatus(dir);
  assert.ok(s.installed);
  if (!s.installed) return;
  assert.equal(s.openclawVersion, OPENCLAW_VERSION);
  assert.match(s.nodeVersion, /^24\./);
  const v = spawnSync(s.node, ["-e", "console.log(process.versions.node)"], { encoding: "utf8" });
  assert.match(v.stdout, /^24\./);
  assert.equal(JSON.parse(readFileSync(join(s.prefix, "node_modules", "openclaw", "package.json"), "utf8")).version, OPENCLAW_VERSION);
  // OpenClaw's WhatsApp channel plugin ships with the runtime, pinned to the same version
  assert.equal(whatsappPluginDir(s.prefix, {}), join(s.prefix, "node_modules", "@openclaw", "whatsapp"));
  assert.equal(JSON.parse(readFileSync(join(s.prefix, "node_modules", "@openclaw", "whatsapp", "package.json"), "utf8")).version, OPENCLAW_VERSION);
});

test("tropic runtime status (CLI) says what is installed", { timeout: 60_000 }, () => {
  const r = spawnSync(join(ROOT, "bin", "tropic"), ["runtime", "status", "--json"], {
    encoding: "utf8",
    env: { ...process.env, TROPIC_RUNTIME_DIR: testRuntimeDir() },
  });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.installed, true);
  assert.equal(s.openclawVersion, OPENCLAW_VERSION);
  const missing = spawnSync(join(ROOT, "bin", "tropic"), ["runtime", "status"], {
    encoding: "utf8",
    env: { ...process.env, TROPIC_RUNTIME_DIR: mkdtempSync(join(tmpdir(), "tropic-rt-")) },
  });
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /Not installed/);
});
