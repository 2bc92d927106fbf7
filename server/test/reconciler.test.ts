// The reconciler (pg-boss jobs on the app's own pool) on both backends, against a scripted provider
// and a health endpoint whose answer the test sets: the state machine, the seed's health rule,
// tokens saved before the provider is called, failures, and the two-phase delete.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { type InstanceProvider, type InstanceSpec, type ObservedInstance, ProviderError } from "@tropic/providers";
import { buildApp, LOG_REDACT } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { InstanceManager } from "../src/instances/manager.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import type { Database } from "../src/db/connect.ts";
import { backends, freshDatabase, signUp, TEST_KEY } from "./harness.ts";

class ScriptedProvider implements InstanceProvider {
  readonly id = "local" as const;
  calls: string[] = [];
  specs = new Map<string, InstanceSpec>();
  running = new Set<string>();
  failFor = new Set<string>();
  constructor(readonly url: string) {}
  reference(s: { instanceId: string }) {
    return `ref-${s.instanceId}`;
  }
  async create(spec: InstanceSpec): Promise<ObservedInstance> {
    this.calls.push(`create ${spec.instanceId}`);
    if (this.failFor.has(spec.ownerId))
      throw new ProviderError("bubblewrap (bwrap) is not installed … apt-get install bubblewrap", "sandbox_unavailable");
    this.specs.set(spec.instanceId, spec);
    return this.describe(this.reference(spec));
  }
  async start(ref: string) {
    this.calls.push(`start ${ref}`);
    this.running.add(ref);
  }
  async stop(ref: string) {
    this.calls.push(`stop ${ref}`);
    this.running.delete(ref);
  }
  async destroy(ref: string) {
    this.calls.push(`destroy ${ref}`);
    this.running.delete(ref);
  }
  async describe(ref: string): Promise<ObservedInstance> {
    return {
      providerRef: ref,
      state: this.running.has(ref) ? "running" : "stopped",
      addresses: { gateway: this.url },
      healthUrl: `${this.url}/readyz`,
    };
  }
  async pushSshKeys() {}
  async applyNetworkRules() {}
}

/** The app with its instance manager on `provider`, health every 300 ms, started. */
async function bootApp(database: Database & { dataDir: string }, provider: InstanceProvider) {
  const kek = new LocalKek(TEST_KEY);
  const app = await buildApp({
    config: loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000 }),
    database,
    kek,
    logger: { level: "fatal", redact: LOG_REDACT },
    instances: (log) =>
      new InstanceManager({ database, kek, providers: { local: provider }, agentUrl: () => "ws://127.0.0.1:9", log, healthIntervalMs: 300 }),
  });
  await app.ready();
  await app.instances!.start();
  return app;
}

for (const kind of await backends()) {
  test(`[${kind}] reconciler: provisioning → initializing → running, stop/start, the seed's health rule, failure, two-phase delete`, async (t) => {
    let health = 503;
    const hs = createServer((_req, res) => res.writeHead(health).end());
    await new Promise<void>((r) => hs.listen(0, "127.0.0.1", r));
    const provider = new ScriptedProvider(`http://127.0.0.1:${(hs.address() as AddressInfo).port}`);
    const database = await freshDatabase(kind);
    const app = await bootApp(database, provider);
    t.after(async () => {
      await app.close();
      await database.close();
      await new Promise((r) => hs.close(r));
    });
    const u = await signUp(app);
    const call = (method: string, url: string) => app.inject({ method: method as "GET", url, headers: u.auth });
    const until = async (id: string, pred: (j: Record<string, any>) => boolean, what: string, ms = 20_000) => {
      const t0 = Date.now();
      for (;;) {
        const j = (await call("GET", `/api/v1/instances/${id}`)).json();
        if (pred(j)) return j;
        assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}; last ${JSON.stringify(j)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "x" } })).json();
    await until(inst.id, (j) => j.state === "initializing", "initializing while the gateway answers 503");
    const ref = `ref-${inst.id}`;
    const { rows } = await database.pool.query("SELECT provider_ref, gateway_token_enc, agent_token_hash FROM instances WHERE id = $1", [inst.id]);
    assert.equal(rows[0].provider_ref, ref, "the reference is saved");
    const spec = provider.specs.get(inst.id)!;
    assert.match(spec.gatewayToken, /^[0-9a-f]{48}$/);
    assert.match(spec.agentToken, /^[0-9a-f]{64}$/);
    const dump = JSON.stringify((await database.pool.query("SELECT * FROM instances")).rows);
    assert.ok(!dump.includes(spec.gatewayToken) && !dump.includes(spec.agentToken), "tokens only sealed or hashed at rest");

    health = 200;
    await until(inst.id, (j) => j.state === "running" && j.lastHealthAt, "running on 200");

    await call("POST", `/api/v1/instances/${inst.id}/stop`);
    await until(inst.id, (j) => j.state === "stopped", "stopped");
    assert.ok(!provider.running.has(ref));
    await call("POST", `/api/v1/instances/${inst.id}/start`);
    await until(inst.id, (j) => j.state === "running", "running again");

    // Anything else than 200/502/503 → stopped; a 503 more than 3 minutes after start → stopped too.
    health = 500;
    const s1 = await until(inst.id, (j) => j.state === "stopped", "stopped on a 500");
    assert.match(s1.stateReason, /HTTP 500/);
    health = 200;
    await until(inst.id, (j) => j.state === "running", "running once healthy again");
    await database.pool.query("UPDATE instances SET started_at = now() - interval '4 minutes' WHERE id = $1", [inst.id]);
    health = 503;
    await until(inst.id, (j) => j.state === "stopped", "stopped: 503 past the 3-minute window");
    health = 200;
    await until(inst.id, (j) => j.state === "running", "running");

    // A provider that refuses (no sandbox for a second user) leaves the instance failed, with the reason.
    const other = await signUp(app);
    provider.failFor.add(other.id);
    const bad = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: other.auth, payload: { name: "y" } })).json();
    const f = await (async () => {
      const t0 = Date.now();
      for (;;) {
        const j = (await app.inject({ method: "GET", url: `/api/v1/instances/${bad.id}`, headers: other.auth })).json();
        if (j.state === "failed") return j;
        assert.ok(Date.now() - t0 < 20_000, JSON.stringify(j));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    assert.match(f.stateReason, /bubblewrap/);

    // Two-phase delete: marked deleting by the API, destroyed, then the row goes.
    assert.equal((await call("DELETE", `/api/v1/instances/${inst.id}`)).statusCode, 202);
    const t0 = Date.now();
    for (;;) {
      const { rows: left } = await database.pool.query("SELECT id FROM instances WHERE id = $1", [inst.id]);
      if (!left.length) break;
      assert.ok(Date.now() - t0 < 20_000, "the row is removed after destroy");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(provider.calls.includes(`destroy ${ref}`));
    assert.ok(provider.calls.indexOf(`destroy ${ref}`) > provider.calls.lastIndexOf(`start ${ref}`));
  });
}

// Every state has a way out the reconciler takes (issue 14: an instance paused for credits and then
// started by the user stayed `stopping` forever, and kept being metered).
test("[pglite] no stuck states: pause by the meter, user start (also before the stop happened), user stop, crash, control-plane restart in between", async (t) => {
  const hs = createServer((_req, res) => res.writeHead(200).end());
  await new Promise<void>((r) => hs.listen(0, "127.0.0.1", r));
  const provider = new ScriptedProvider(`http://127.0.0.1:${(hs.address() as AddressInfo).port}`);
  const database = await freshDatabase("pglite");
  const boot = () => bootApp(database, provider);
  let app = await boot();
  t.after(async () => {
    await app.close();
    await database.close();
    await new Promise((r) => hs.close(r));
  });
  const u = await signUp(app);
  const call = (method: string, url: string) => app.inject({ method: method as "GET", url, headers: u.auth });
  const until = async (id: string, want: string, what: string) => {
    const t0 = Date.now();
    for (;;) {
      const j = (await call("GET", `/api/v1/instances/${id}`)).json();
      if (j.state === want) return j;
      assert.ok(Date.now() - t0 < 20_000, `timed out waiting for ${what} (${want}); last ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // What the credit meter's pause writes (credits/meter.ts LIMITS_SQL, "paused").
  const meterPause = (id: string) =>
    database.pool.query(
      `UPDATE instances SET desired_state = 'stopped', state = CASE WHEN state = 'running' THEN 'stopping' ELSE state END,
              pause_reason = 'no_credits', paused_at = now(), state_reason = 'paused: out of credits', updated_at = now() WHERE id = $1`,
      [id],
    );

  const inst = (await app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "walk" } })).json();
  const ref = `ref-${inst.id}`;
  await until(inst.id, "running", "first start");

  // Paused by the meter → stopped, with the meter's reason; the user's start → running.
  await meterPause(inst.id);
  await app.instances!.reconciler.kick(inst.id);
  const paused = await until(inst.id, "stopped", "paused");
  assert.match(paused.stateReason ?? "", /out of credits/);
  assert.ok(!provider.running.has(ref));
  assert.equal((await call("POST", `/api/v1/instances/${inst.id}/start`)).statusCode, 202);
  await until(inst.id, "running", "started after a pause");

  // The finding: paused (`stopping`) and started again before any stop happened. Nothing stops it
  // (the wish is running again): it must come back to running, not stay `stopping`.
  await meterPause(inst.id);
  await database.pool.query(
    "UPDATE instances SET desired_state = 'running', pause_reason = NULL, paused_at = NULL, state_reason = NULL WHERE id = $1",
    [inst.id],
  );
  await app.instances!.reconciler.kick(inst.id);
  await until(inst.id, "running", "running again after pause + start");

  // The user's stop and start.
  await call("POST", `/api/v1/instances/${inst.id}/stop`);
  await until(inst.id, "stopped", "stopped by the user");
  await call("POST", `/api/v1/instances/${inst.id}/start`);
  await until(inst.id, "running", "started by the user");

  // A crash (the provider lost it): started again.
  provider.running.delete(ref);
  for (const t0 = Date.now(); !provider.running.has(ref); await new Promise((r) => setTimeout(r, 50)))
    assert.ok(Date.now() - t0 < 20_000, "started again by the reconciler");
  await until(inst.id, "running", "running after a crash");

  // A control-plane restart between the pause and the start.
  await meterPause(inst.id);
  await app.close();
  app = await boot();
  await until(inst.id, "stopped", "stopped by the new control plane");
  await call("POST", `/api/v1/instances/${inst.id}/start`);
  await until(inst.id, "running", "started after the restart");
});
