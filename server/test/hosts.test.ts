// A user's own machine as an instance (issue 16): the one-liner's enrolment token (once, 15 minutes,
// hashed, bound to its owner and instance), the host's details in the API, Agent37 (no model key),
// and — with the instance manager and the byo provider — a host's agent reaching running through its
// tunnel, refused with another instance's token, stopped by a command, offline, and uninstalled; and
// `tropic serve` building the host bundles in the background at start (TROPIC_HOST_BUNDLES).
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ByoProvider, BYO_OFFLINE, BYO_WAITING } from "@tropic/providers";
import { WebSocket } from "ws";
import { AGENT_PATH } from "@tropic/agent";
import { buildApp, LOG_REDACT } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { HostBundles, type PlatformRuntime, setHostBundles } from "../src/hosts/bundle.ts";
import { ENROLMENT_REFUSED } from "../src/hosts/enrolment.ts";
import { selectUpstream } from "../src/proxy/upstream.ts";
import { startServer, warmHostBundlesEnv } from "../src/server.ts";
import { InstanceManager } from "../src/instances/manager.ts";
import { sha256Hex } from "../src/lib/tokens.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { backends, freshDatabase, signUp, TEST_KEY, testApp } from "./harness.ts";
import { freshDataDir, MASTER_KEY } from "./instances-harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";

const HOST = { os: "linux", arch: "x64", hostname: "laptop", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };

for (const kind of await backends()) {
  test(`[${kind}] enrolment: connect → one-liner → enrol once; reuse, expiry, unknown and others' instances refused; host details; Agent37`, async (t) => {
    const h = await testApp(kind, { publicUrl: "https://tropic.example.com" });
    t.after(() => h.close());
    const { app, database } = h;
    await signUp(app); // the admin
    const a = await signUp(app);
    const b = await signUp(app);
    const as = (who: typeof a | null, method: string, url: string, payload?: object) =>
      app.inject({ method: method as "GET", url, headers: who ? who.auth : {}, ...(payload ? { payload } : {}) });

    const c = await as(a, "POST", "/api/v1/instances/connect", { name: "laptop" });
    assert.equal(c.statusCode, 201, c.body);
    const { instance, enrolment } = c.json();
    assert.equal(instance.provider, "byo");
    assert.equal(instance.state, "provisioning");
    assert.equal(instance.host, null, "no host before it enrolled");
    assert.match(enrolment.token, /^tet_[A-Za-z0-9_-]{43}$/, "256 bits, recognisable");
    assert.equal(enrolment.command, `curl -fsSL https://tropic.example.com/install/host.sh | sh -s -- --token ${enrolment.token}`);
    const ttl = Date.parse(enrolment.expiresAt) - Date.now();
    assert.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000, `15 minutes, got ${ttl} ms`);
    // The same name again is refused like any instance's; an unknown field by name.
    assert.equal((await as(a, "POST", "/api/v1/instances/connect", { name: "laptop" })).statusCode, 409);
    assert.equal((await as(a, "POST", "/api/v1/instances/connect", { name: "x", provider: "local" })).json().error.field, "provider");
    assert.equal((await as(null, "POST", "/api/v1/instances/connect", { name: "anon" })).statusCode, 401);

    // At rest: the hash only.
    const dump = JSON.stringify((await database.pool.query("SELECT * FROM enrolment_tokens")).rows);
    assert.ok(!dump.includes(enrolment.token) && dump.includes(sha256Hex(enrolment.token)));

    // The exchange, once.
    const enrol = (token: string, host: object = HOST) => as(null, "POST", "/api/v1/hosts/enrol", { token, host });
    const e = await enrol(enrolment.token);
    assert.equal(e.statusCode, 200, e.body);
    const creds = e.json();
    assert.deepEqual(Object.keys(creds).sort(), ["agentToken", "agentUrl", "gatewayToken", "instanceId"]);
    assert.equal(creds.instanceId, instance.id);
    assert.match(creds.agentToken, /^[0-9a-f]{64}$/);
    assert.match(creds.gatewayToken, /^[0-9a-f]{48}$/);
    assert.equal(creds.agentUrl, "wss://tropic.example.com/api/v1/agent/connect");
    const { rows } = await database.pool.query("SELECT agent_token_hash, host FROM instances WHERE id = $1", [instance.id]);
    assert.equal(rows[0].agent_token_hash, sha256Hex(creds.agentToken), "the hub finds the host's agent by this");
    const atRest = JSON.stringify((await database.pool.query("SELECT * FROM instances")).rows);
    assert.ok(!atRest.includes(creds.agentToken) && !atRest.includes(creds.gatewayToken), "credentials only sealed or hashed at rest");

    for (const [what, res] of [
      ["used", await enrol(enrolment.token)],
      ["unknown", await enrol(`tet_${"A".repeat(43)}`)],
      ["malformed", await enrol("nope")],
    ] as const) {
      assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
      assert.deepEqual(res.json().error, { code: "enrolment_refused", message: ENROLMENT_REFUSED, field: "token" }, what);
    }

    // Host details in the instance API.
    const got = (await as(a, "GET", `/api/v1/instances/${instance.id}`)).json();
    assert.equal(got.host.os, "linux");
    assert.equal(got.host.arch, "x64");
    assert.equal(got.host.hostname, "laptop");
    assert.equal(got.host.agentVersion, "0.1.0");
    assert.equal(got.host.openclawVersion, "2026.9.6");
    assert.equal(got.host.agent37, false);
    assert.equal(got.host.lastSeenAt, null);
    assert.equal(got.host.connected, false);
    assert.ok((await as(a, "GET", "/api/v1/instances")).json().items.find((i: { id: string }) => i.id === instance.id).host);

    // A fresh one-liner (a re-install): a new agent token; the old one no longer finds the instance.
    const again = await as(a, "POST", `/api/v1/instances/${instance.id}/enrolment`);
    assert.equal(again.statusCode, 201, again.body);
    const second = again.json().enrolment;
    assert.notEqual(second.token, enrolment.token);
    const third = (await as(a, "POST", `/api/v1/instances/${instance.id}/enrolment`)).json().enrolment;
    assert.equal((await enrol(second.token)).statusCode, 401, "a newer token replaces the older one");
    const re = (await enrol(third.token)).json();
    assert.notEqual(re.agentToken, creds.agentToken);
    assert.equal(re.gatewayToken, creds.gatewayToken, "the gateway keeps its token");

    // Expired.
    const late = (await as(a, "POST", `/api/v1/instances/${instance.id}/enrolment`)).json().enrolment;
    await database.pool.query("UPDATE enrolment_tokens SET expires_at = now() - interval '1 second'");
    assert.equal((await enrol(late.token)).statusCode, 401);

    // B cannot see A's instance, make it a token, or use A's tokens for anything of B's.
    const mine = (await as(a, "POST", `/api/v1/instances/${instance.id}/enrolment`)).json().enrolment;
    assert.equal((await as(b, "GET", `/api/v1/instances/${instance.id}`)).statusCode, 404);
    assert.equal((await as(b, "POST", `/api/v1/instances/${instance.id}/enrolment`)).statusCode, 404);
    assert.equal((await as(b, "GET", "/api/v1/instances")).json().items.length, 0);
    // A local instance has no one-liner.
    const local = (await as(a, "POST", "/api/v1/instances", { name: "sandbox" })).json();
    const notByo = await as(a, "POST", `/api/v1/instances/${local.id}/enrolment`);
    assert.equal(notByo.statusCode, 409);
    assert.equal(notByo.json().error.field, "provider");
    // A token of an instance deleted meanwhile is refused.
    assert.equal((await as(a, "DELETE", `/api/v1/instances/${instance.id}`)).statusCode, 202);
    assert.equal((await enrol(mine.token)).statusCode, 401);

    // Agent37: enrolled with the flag, it gets no model key — neither the one queued at creation nor later ones.
    const plain = (await as(a, "POST", "/api/v1/instances/connect", { name: "plain" })).json();
    const a37 = (await as(a, "POST", "/api/v1/instances/connect", { name: "agent37" })).json();
    assert.equal((await enrol(plain.enrolment.token)).statusCode, 200);
    assert.equal((await enrol(a37.enrolment.token, { ...HOST, agent37: true })).statusCode, 200);
    assert.equal((await as(a, "GET", `/api/v1/instances/${a37.instance.id}`)).json().host.agent37, true);
    assert.equal((await as(a, "PUT", "/api/v1/credentials/ANTHROPIC_API_KEY", { value: "sk-ant-test-0123456789abcdef" })).statusCode < 300, true);
    assert.equal((await as(a, "POST", `/api/v1/instances/${a37.instance.id}/start`)).statusCode, 202);
    const keyCmds = async (id: string) =>
      (
        await database.pool.query(
          "SELECT count(*)::int AS n FROM instance_commands WHERE instance_id = $1 AND kind = 'write_env' AND state = 'pending'",
          [id],
        )
      ).rows[0].n;
    assert.equal(await keyCmds(a37.instance.id), 0, "no model key for an Agent37 machine");
    assert.ok((await keyCmds(plain.instance.id)) >= 1, "other byo instances get theirs");

    // Never in a log line: no enrolment token, agent or gateway token.
    const logs = h.logs.join("");
    for (const s of [enrolment.token, second.token, third.token, late.token, mine.token, creds.agentToken, creds.gatewayToken, re.agentToken])
      assert.ok(!logs.includes(s), "a secret reached the log");
  });
}

test("[pglite] a host's agent: waiting, running through its tunnel (health and proxy), another instance's token refused, stop by command, offline, uninstall", async (t) => {
  const database = await freshDatabase("pglite");
  const kek = new LocalKek(TEST_KEY);
  const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(0, "127.0.0.1");
  const app = await buildApp({
    config: loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000 }),
    database,
    kek,
    logger: { level: "fatal", redact: LOG_REDACT },
    instances: (log) =>
      new InstanceManager({ database, kek, providers: { byo: new ByoProvider() }, agentUrl: () => "ws://127.0.0.1:9", log, healthIntervalMs: 300 }),
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  await app.instances!.start();
  t.after(async () => {
    await app.close();
    gateway.close();
    await database.close();
  });
  const u = await signUp(app);
  const call = (method: string, url: string, payload?: object) =>
    app.inject({ method: method as "GET", url, headers: u.auth, ...(payload ? { payload } : {}) });
  const until = async (id: string, pred: (j: Record<string, any>) => boolean, what: string) => {
    const t0 = Date.now();
    for (;;) {
      const j = (await call("GET", `/api/v1/instances/${id}`)).json();
      if (pred(j)) return j;
      assert.ok(Date.now() - t0 < 20_000, `timed out waiting for ${what}; last ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const connect = async (name: string) => {
    const c = (await call("POST", "/api/v1/instances/connect", { name })).json();
    // Over HTTP, as the installer does: the agent URL is the origin the host reached.
    const res = await fetch(`${address}/api/v1/hosts/enrol`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: c.enrolment.token, host: HOST }),
    });
    const creds = await res.json();
    assert.match(creds.agentUrl, /^ws:\/\/127\.0\.0\.1:\d+\/api\/v1\/agent\/connect$/, "the origin the host reached");
    return { id: c.instance.id as string, creds };
  };

  // Before enrolment: waiting for the machine.
  const waiting = (await call("POST", "/api/v1/instances/connect", { name: "later" })).json();
  await until(waiting.instance.id, (j) => j.state === "provisioning" && j.stateReason === BYO_WAITING, "waiting for the machine");

  const one = await connect("one");
  const two = await connect("two");
  // Enrolled but never connected: offline, commands wait.
  await until(one.id, (j) => j.state === "stopped" && j.stateReason === BYO_OFFLINE, "offline");

  // The host's agent dials in: running, read from the gateway's /readyz through its tunnel.
  const port = (gateway.address() as AddressInfo).port;
  const acked: string[] = [];
  const agent = await connectStandInAgent({ base: address, token: one.creds.agentToken, instanceId: one.id, port });
  agent.ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(String(data));
    if (f.type !== "command") return;
    acked.push(f.kind);
    agent.ws.send(JSON.stringify({ type: "ack", id: f.id, ok: true }));
  });
  t.after(() => agent.close());
  const running = await until(one.id, (j) => j.state === "running", "running");
  assert.equal(running.host.connected, true);
  assert.ok(running.host.lastSeenAt);
  // The proxy reaches the host's gateway through the same tunnel (it binds loopback there; no address of the machine is ever used).
  const proxied = await call("GET", `/i/${one.id}/readyz`);
  assert.equal(proxied.statusCode, 200, proxied.body);
  const row = { provider: "byo", addresses: { private: "http://10.0.0.5", gateway: "http://127.0.0.1:18789" } };
  assert.equal(selectUpstream(row, { referer: "x" }), null, "no tunnel, no way in");
  const viaTunnel = selectUpstream(row, { referer: "x", tunnel: () => null as never });
  assert.ok(viaTunnel?.connect, "only through the agent's tunnel");
  assert.equal(viaTunnel.host, "127.0.0.1");

  // Another instance's token: the agent that says it is `one` with `two`'s token is refused.
  const wrong = await connectStandInAgent({ base: address, token: two.creds.agentToken, instanceId: one.id, port });
  const closed = await new Promise<number>((r) => wrong.ws.once("close", (code) => r(code)));
  assert.equal(closed, 4003);
  // An old token (before a re-install) or a made-up one is refused at the door.
  for (const token of ["0".repeat(64)]) {
    const ws = new WebSocket(`${address.replace(/^http/, "ws")}${AGENT_PATH}`, { headers: { authorization: `Bearer ${token}` } });
    const status = await new Promise<number>((r) => {
      ws.once("unexpected-response", (_q, res) => r(res.statusCode ?? 0));
      ws.once("open", () => r(101));
    });
    assert.equal(status, 401);
  }
  assert.equal((await call("GET", `/api/v1/instances/${one.id}`)).json().state, "running", "`one` is untouched");

  // Stop: a command to the host's agent (it stays connected); start: another.
  await call("POST", `/api/v1/instances/${one.id}/stop`);
  await until(one.id, (j) => j.state === "stopped", "stopped");
  for (let i = 0; i < 100 && !acked.includes("stop_gateway"); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(acked.includes("stop_gateway"), `stop_gateway delivered (got ${acked.join(", ")})`);
  assert.equal(app.instances!.hub.connected(one.id), true, "the host's agent stays connected");

  // Deleting the instance asks the connected host to uninstall itself.
  assert.equal((await call("DELETE", `/api/v1/instances/${one.id}`)).statusCode, 202);
  for (let i = 0; i < 200 && !acked.includes("uninstall"); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(acked.includes("uninstall"), `uninstall sent (got ${acked.join(", ")})`);

  // A host that goes away: offline, with what that means.
  const back = await connectStandInAgent({ base: address, token: two.creds.agentToken, instanceId: two.id, port });
  await until(two.id, (j) => j.state === "running", "two running");
  back.close();
  await until(two.id, (j) => j.state === "stopped" && j.stateReason === BYO_OFFLINE && j.host.connected === false, "offline after it left");

  // Deleted while it is away (a reboot): a command queued before the delete is never sent, but the
  // machine coming back is let in to take its uninstall; once torn down, its token opens nothing.
  await call("POST", `/api/v1/instances/${two.id}/stop`);
  assert.equal((await call("DELETE", `/api/v1/instances/${two.id}`)).statusCode, 202);
  await new Promise((r) => setTimeout(r, 300));
  const frames: string[] = [];
  const returning = await connectStandInAgent({ base: address, token: two.creds.agentToken, instanceId: two.id, port });
  returning.ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(String(data));
    frames.push(f.type === "command" ? f.kind : f.type);
    if (f.type === "command") returning.ws.send(JSON.stringify({ type: "ack", id: f.id, ok: true }));
  });
  t.after(() => returning.close());
  for (let i = 0; i < 200 && !frames.includes("uninstall"); i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(frames, ["uninstall"], "only the uninstall: no queued stop, no `synced` (the gateway is not to start)");
  for (let i = 0; i < 200 && (await call("GET", `/api/v1/instances/${two.id}`)).statusCode !== 404; i++) await new Promise((r) => setTimeout(r, 50));
  const gone = new WebSocket(`${address.replace(/^http/, "ws")}${AGENT_PATH}`, { headers: { authorization: `Bearer ${two.creds.agentToken}` } });
  for (let i = 0; i < 200 && app.instances!.hub.connected(two.id); i++) await new Promise((r) => setTimeout(r, 50));
  const refused = await new Promise<number>((r) => {
    gone.once("unexpected-response", (_q, res) => r(res.statusCode ?? 0));
    gone.once("open", () => r(101));
  });
  assert.equal(refused, 401, "a torn-down instance's token opens nothing");
});

test("tropic serve builds the host bundles in the background at start: the manifest is ready before anyone asked; a failed build is not fatal", async (t) => {
  // A small platform (the real linux-x64 bundle is built by host-bundle.test.ts and the booted-host e2e).
  const tmp = mkdtempSync(join(tmpdir(), "tropic-warm-"));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const prefix = join(tmp, "rt");
  mkdirSync(join(prefix, "node_modules", "node-test-x64", "bin"), { recursive: true });
  mkdirSync(join(prefix, "node_modules", "openclaw"), { recursive: true });
  writeFileSync(join(prefix, "node_modules", "node-test-x64", "bin", "node"), "#!/bin/sh\n");
  chmodSync(join(prefix, "node_modules", "node-test-x64", "bin", "node"), 0o755);
  writeFileSync(join(prefix, "node_modules", "openclaw", "package.json"), '{"name":"openclaw","version":"2026.9.6"}\n');
  writeFileSync(join(tmp, "agent.mjs"), "// agent\n");
  mkdirSync(join(tmp, "plugin"));
  writeFileSync(join(tmp, "plugin", "index.mjs"), "// plugin\n");
  const store = (dataDir: string, runtime: PlatformRuntime["runtime"], installed?: () => boolean) => {
    const s = new HostBundles({
      dataDir,
      platforms: [{ platform: "test-x64", runtime, ...(installed ? { installed } : {}) }],
      agentBundle: async () => join(tmp, "agent.mjs"),
      pluginDir: async () => join(tmp, "plugin"),
    });
    setHostBundles(dataDir, s);
    return s;
  };
  const serve = async (dataDir: string, warm: boolean) => {
    const s = await startServer(
      { port: 0, host: "127.0.0.1", masterKey: MASTER_KEY, logLevel: "warn", databaseUrl: undefined, authRateLimit: 1000, dataDir },
      { logger: false, warmHostBundles: warm },
    );
    t.after(async () => {
      await s.close().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    });
    return s;
  };
  const ok = async () => ({ prefix, nodeVersion: "24.0.0-test", openclawVersion: "2026.9.6" });

  // Warm: built with no request made; the first one-liner's manifest request finds it.
  const warmDir = freshDataDir();
  const warm = store(warmDir, ok);
  const server = await serve(warmDir, true);
  const onDisk = () => {
    const dir = join(warmDir, "host-bundles");
    if (!existsSync(dir)) return null;
    for (const v of readdirSync(dir))
      if (existsSync(join(dir, v, "manifest.json"))) return JSON.parse(readFileSync(join(dir, v, "manifest.json"), "utf8"));
    return null;
  };
  for (let i = 0; !onDisk(); i++) {
    assert.ok(i < 1200, "the background build finished");
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(warm.builds, 1, "built once, by the server's start (no request was made)");
  const res = await fetch(`${server.url}/install/manifest.json`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), onDisk());
  assert.equal(warm.builds, 1, "the request found it built");

  // Lazy (tests, embedders, TROPIC_HOST_BUNDLES=lazy): nothing is built until asked.
  const lazyDir = freshDataDir();
  const lazy = store(lazyDir, ok);
  const lazyServer = await serve(lazyDir, false);
  await fetch(`${lazyServer.url}/readyz`);
  assert.equal(lazy.builds, 0);
  assert.equal(existsSync(join(lazyDir, "host-bundles")), false);

  // A machine's very first start (no runtime installed yet): the first instance installs it with its
  // progress shown; the bundles wait for the first request instead of racing that install.
  const firstDir = freshDataDir();
  const first = store(firstDir, ok, () => false);
  const firstServer = await serve(firstDir, true);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(first.builds, 0, "not built at a first start");
  assert.equal((await fetch(`${firstServer.url}/install/manifest.json`)).status, 200, "the first request builds them");
  assert.equal(first.builds, 1);

  // A build that fails in the background: the server runs on; the request is where the error shows.
  const badDir = freshDataDir();
  const bad = store(badDir, async () => {
    throw new Error("no runtime for test-x64 here");
  });
  const badServer = await serve(badDir, true);
  for (let i = 0; bad.builds === 0; i++) {
    assert.ok(i < 1200, "the background build was tried");
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal((await fetch(`${badServer.url}/readyz`)).status, 200, "still serving");

  // The environment `tropic serve` reads.
  assert.equal(warmHostBundlesEnv({}), true, "warm by default");
  assert.equal(warmHostBundlesEnv({ TROPIC_HOST_BUNDLES: "lazy" }), false);
  assert.equal(warmHostBundlesEnv({ TROPIC_HOST_BUNDLES: "WARM" }), true);
  assert.throws(() => warmHostBundlesEnv({ TROPIC_HOST_BUNDLES: "sometimes" }), /TROPIC_HOST_BUNDLES must be warm or lazy/);
});
