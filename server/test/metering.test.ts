// Credits metered every 5 minutes, spending limits and cost visibility (issue 7), on the embedded
// database and on PostgreSQL. Time is driven by passing `now` to the tick; nothing sleeps.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import PgBoss from "pg-boss";
import { listModels } from "@tropic/marketplace";
import { checkLimits, meterTick, WINDOW_MS, windowStart } from "../src/credits/meter.ts";
import { DEFAULT_RATES, loadRates, mergeRates, type Rates } from "../src/credits/rates.ts";
import { METER_QUEUE, MeterService } from "../src/credits/service.ts";
import { usage } from "../src/credits/usage.ts";
import type { Database } from "../src/db/connect.ts";
import { backends, signUp, type TestApp, type TestUser, testApp } from "./harness.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
/** A fixed, window-aligned instant for the tests that pass their own clock. */
const T0 = new Date(Date.UTC(2026, 10, 20, 12, 0, 0));
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);

/** What the meter charges for [t0, t1) at `rate` credits/hour, in milli-credits (cumulative rounding). */
function expectedMilli(rate: number, t0: Date, t1: Date): number {
  const r = Math.round(rate * 1000);
  return Math.floor((r * (t1.getTime() / 1000)) / 3600) - Math.floor((r * (t0.getTime() / 1000)) / 3600);
}

let seq = 0;
async function user(db: Database, opts: { credits?: number; cap?: number | null; session?: number | null; model?: string } = {}): Promise<string> {
  const id = crypto.randomUUID();
  await db.pool.query("INSERT INTO users (id, email) VALUES ($1, $2)", [id, `meter${++seq}-${id.slice(0, 8)}@example.com`]);
  await db.pool.query("INSERT INTO user_settings (owner_id, daily_credit_cap, max_session_minutes, model) VALUES ($1, $2, $3, $4)", [
    id,
    opts.cap ?? null,
    opts.session ?? null,
    opts.model ?? "anthropic/claude-sonnet-4-6",
  ]);
  if (opts.credits) await grant(db, id, opts.credits);
  return id;
}

async function grant(db: Database, ownerId: string, credits: number) {
  await db.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', $2, $3)", [
    ownerId,
    credits * 1000,
    `grant:${crypto.randomUUID()}`,
  ]);
}

interface InstanceOpts {
  type?: string;
  provider?: "local" | "aws" | "byo";
  state?: string;
  desired?: string;
  startedAt?: Date | null;
  stoppedAt?: Date | null;
  platformKey?: boolean;
}
async function instance(db: Database, ownerId: string, o: InstanceOpts = {}): Promise<string> {
  const id = crypto.randomUUID();
  const type = o.type ?? "t3.micro";
  const provider = o.provider ?? (type === "local" ? "local" : type === "byo" ? "byo" : "aws");
  await db.pool.query(
    `INSERT INTO instances (id, owner_id, name, provider, region, instance_type, desired_state, state, started_at, stopped_at, uses_platform_key)
     VALUES ($1, $2, $3, $4, 'us-east-1', $5, $6, $7, $8, $9, $10)`,
    [
      id,
      ownerId,
      `i-${id.slice(0, 6)}`,
      provider,
      type,
      o.desired ?? "running",
      o.state ?? "running",
      o.startedAt === undefined ? T0 : o.startedAt,
      o.stoppedAt ?? null,
      o.platformKey ?? false,
    ],
  );
  return id;
}

async function agent(db: Database, ownerId: string, instanceId: string, model: string, state = "ready"): Promise<string> {
  const id = crypto.randomUUID();
  await db.pool.query(
    `INSERT INTO agents (id, owner_id, instance_id, slug, name, template_id, model, state)
     VALUES ($1, $2, $3, $4, $4, 'personal-assistant', $5, $6)`,
    [id, ownerId, instanceId, `a-${id.slice(0, 8)}`, model, state],
  );
  return id;
}

async function charges(db: Database, instanceId: string, kind?: string) {
  const { rows } = await db.pool.query<{ kind: string; amount_milli: number; agent_id: string | null; window_start: Date; idempotency_key: string }>(
    `SELECT kind, amount_milli, agent_id, window_start, idempotency_key FROM credit_ledger
      WHERE instance_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY window_start, kind, agent_id`,
    [instanceId, kind ?? null],
  );
  return rows;
}
const total = (rows: { amount_milli: number }[]) => -rows.reduce((s, r) => s + Number(r.amount_milli), 0);

async function row(db: Database, id: string) {
  const { rows } = await db.pool.query(
    "SELECT desired_state, state, state_reason, pause_reason, paused_until, metered_until FROM instances WHERE id = $1",
    [id],
  );
  return rows[0] as { desired_state: string; state: string; state_reason: string | null; pause_reason: string | null; paused_until: Date | null };
}

/** What the reconciler does for a paused instance: provider.stop, then `stopped`. */
async function reconcilerStops(db: Database, id: string, when: Date) {
  await db.pool.query("UPDATE instances SET state = 'stopped', stopped_at = $2 WHERE id = $1 AND desired_state = 'stopped'", [id, when]);
}

/** Runs every tick in the test on its own instances only: earlier tests' instances are stopped first. */
async function isolate(db: Database) {
  await db.pool.query(
    "UPDATE instances SET state = 'stopped', desired_state = 'stopped', pause_reason = NULL, stopped_at = coalesce(stopped_at, started_at)",
  );
}

test("the rates table matches the marketplace's advertised model prices", () => {
  for (const m of listModels()) assert.equal(DEFAULT_RATES.models[m.id], m.creditsPerHour, m.id);
  assert.equal(DEFAULT_RATES.compute["t3.micro"], 5);
  assert.equal(DEFAULT_RATES.compute["t3.small"], 15);
  assert.equal(DEFAULT_RATES.compute.local, 0);
  assert.ok(DEFAULT_RATES.unknownModel > 0, "an unknown model on the platform key is never free");
});

test("a rates file overrides entries; a bad one is refused naming the field", () => {
  const r = mergeRates({ compute: { local: 2, "t3.medium": 40 }, models: { "anthropic/claude-opus-4-6": 120 }, unknownModel: 90 });
  assert.equal(r.compute.local, 2);
  assert.equal(r.compute["t3.micro"], 5);
  assert.equal(r.models["anthropic/claude-opus-4-6"], 120);
  assert.equal(r.unknownModel, 90);
  assert.throws(() => mergeRates({ compute: { "t9.huge": 1 } }), /compute\.t9\.huge: unknown instance type/);
  assert.throws(() => mergeRates({ compute: { "t3.micro": -1 } }), /compute\.t3\.micro: must not be negative/);
  assert.throws(() => mergeRates({ models: { "anthropic/claude-opus-4-6": 1e9 } }), /models\.anthropic\/claude-opus-4-6: must be at most/);
  assert.throws(() => mergeRates({ unknownModel: "cheap" }), /unknownModel: must be a number/);
  assert.throws(() => mergeRates({ computer: {} }), /computer/);
  const dir = mkdtempSync(join(tmpdir(), "tropic-rates-"));
  writeFileSync(join(dir, "bad.json"), "{ not json");
  assert.throws(() => loadRates(join(dir, "bad.json")), /TROPIC_RATES_FILE: .*bad\.json is not valid JSON/);
  writeFileSync(join(dir, "ok.json"), JSON.stringify({ compute: { local: 3 } }));
  assert.equal(loadRates(join(dir, "ok.json")).compute.local, 3);
  assert.throws(() => loadRates(join(dir, "missing.json")), /TROPIC_RATES_FILE: cannot read/);
});

for (const kind of await backends()) {
  describe(`metering on ${kind}`, () => {
    let t: TestApp;
    let db: Database;
    let admin: TestUser;
    before(async () => {
      t = await testApp(kind);
      db = t.database;
      admin = await signUp(t.app); // the first account is the admin
    });
    after(async () => t?.close());

    test("charges each window by instance type; an hour of t3.micro is exactly 5 credits, t3.small 15, local 0 (configurable)", async () => {
      await isolate(db);
      const u = await user(db, { credits: 1000 });
      const micro = await instance(db, u, { type: "t3.micro" });
      const small = await instance(db, u, { type: "t3.small" });
      const local = await instance(db, u, { type: "local" });
      const first = await meterTick(db.pool, { now: at(T0, 5 * MIN + 1000) });
      assert.equal(first.settledUntil.getTime(), at(T0, 5 * MIN).getTime(), "settles the window that ended");
      const w = await charges(db, micro, "compute");
      assert.equal(w.length, 1);
      assert.equal(w[0]!.window_start.getTime(), T0.getTime());
      assert.equal(w[0]!.idempotency_key, `compute:${micro}:2026-11-20T12:00:00Z`);
      assert.equal(-w[0]!.amount_milli, expectedMilli(5, T0, at(T0, 5 * MIN)));
      for (let m = 10; m <= 60; m += 5) await meterTick(db.pool, { now: at(T0, m * MIN) });
      assert.equal((await charges(db, micro)).length, 12, "twelve windows in an hour");
      assert.equal(total(await charges(db, micro)), 5000);
      assert.equal(total(await charges(db, small)), 15000);
      assert.equal((await charges(db, local)).length, 0, "local compute is free by default: no rows");
      // Local instances' rate is configurable.
      const priced = mergeRates({ compute: { local: 2 } });
      await meterTick(db.pool, { now: at(T0, 90 * MIN), rates: priced });
      assert.equal(total(await charges(db, local)), 1000, "30 minutes at 2 cr/hr");
    });

    test("the platform's key adds each agent's model rate (kind 'model', with agent_id); your own key pays compute only", async () => {
      await isolate(db);
      const u = await user(db, { credits: 1000, model: "anthropic/claude-haiku-4-5" });
      const platform = await instance(db, u, { platformKey: true });
      const opus = await agent(db, u, platform, "anthropic/claude-opus-4-6");
      const sonnet = await agent(db, u, platform, "anthropic/claude-sonnet-4-6", "provisioning");
      const custom = await agent(db, u, platform, "openai/gpt-5.1");
      await agent(db, u, platform, "anthropic/claude-haiku-4-5", "stopped"); // stopped agents cost nothing
      const bare = await instance(db, u, { platformKey: true }); // no agents: the default agent, the Settings model
      const byo = await instance(db, u, { platformKey: false });
      await agent(db, u, byo, "anthropic/claude-opus-4-6");
      for (let m = 5; m <= 60; m += 5) await meterTick(db.pool, { now: at(T0, m * MIN) });

      const perAgent = (rows: Awaited<ReturnType<typeof charges>>, id: string | null) => total(rows.filter((r) => r.agent_id === id));
      const models = await charges(db, platform, "model");
      assert.equal(perAgent(models, opus), 100_000, "Opus 4.6: 100 cr/hr");
      assert.equal(perAgent(models, sonnet), 50_000, "Sonnet 4.6: 50 cr/hr");
      assert.equal(perAgent(models, custom), 100_000, "a model not in the table: the unknown-model rate, not free");
      assert.equal(models.length, 36);
      assert.equal(total(await charges(db, platform, "compute")), 5000);
      const bareModels = await charges(db, bare, "model");
      assert.equal(perAgent(bareModels, null), 20_000, "no agents: the Settings model (Haiku 4.5, 20 cr/hr), agent_id null");
      assert.equal((await charges(db, byo, "model")).length, 0, "bring your own key: no model charges");
      assert.equal(total(await charges(db, byo)), 5000, "…and compute only");
    });

    test("pro rata: 2 of 5 minutes pay 2/5, at the start and at the stop", async () => {
      await isolate(db);
      const u = await user(db, { credits: 100 });
      const late = await instance(db, u, { type: "t3.small", startedAt: at(T0, 3 * MIN) });
      const early = await instance(db, u, { type: "t3.small", state: "stopped", desired: "stopped", startedAt: T0, stoppedAt: at(T0, 2 * MIN) });
      const whole = await instance(db, u, { type: "t3.small", startedAt: T0 });
      await meterTick(db.pool, { now: at(T0, 5 * MIN) });
      assert.equal(total(await charges(db, whole)), 1250, "a whole window of 15 cr/hr: 1.25 credits");
      assert.equal(total(await charges(db, late)), 500, "started 3 minutes in: 2/5 of it");
      assert.equal(total(await charges(db, early)), 500, "stopped 2 minutes in: 2/5 of it");
      // The stopped one is never charged again; restarted, it pays from its new start.
      await meterTick(db.pool, { now: at(T0, 10 * MIN) });
      assert.equal((await charges(db, early)).length, 1);
      await db.pool.query("UPDATE instances SET state = 'running', desired_state = 'running', started_at = $2 WHERE id = $1", [
        early,
        at(T0, 14 * MIN),
      ]);
      await meterTick(db.pool, { now: at(T0, 15 * MIN) });
      assert.equal(total(await charges(db, early)), 500 + 250, "1 minute of the 14:00 window");
    });

    test("a tick run twice, or with the watermark lost, charges a window once; a tick that dies before COMMIT charges nothing", async () => {
      await isolate(db);
      const u = await user(db, { credits: 100 });
      const id = await instance(db, u);
      const now = at(T0, 5 * MIN);
      const died = meterTick(db.pool, {
        now,
        onCharged: () => {
          throw new Error("killed mid-tick");
        },
      });
      await assert.rejects(died, /killed mid-tick/);
      assert.equal((await charges(db, id)).length, 0, "rolled back: nothing charged");
      assert.equal(
        (await db.pool.query("SELECT metered_until FROM instances WHERE id = $1", [id])).rows[0].metered_until,
        null,
        "nor moved the watermark",
      );
      const a = await meterTick(db.pool, { now });
      const b = await meterTick(db.pool, { now });
      assert.equal(a.computeRows, 1);
      assert.equal(b.computeRows, 0);
      await db.pool.query("UPDATE instances SET metered_until = NULL WHERE id = $1", [id]);
      const c = await meterTick(db.pool, { now: at(now, 2 * MIN) });
      assert.equal(c.computeRows, 0, "the unique key stops a replay even without the watermark");
      assert.equal((await charges(db, id)).length, 1);
    });

    if (kind === "postgres")
      test("two ticks at once from two pools (two control planes) charge every instance once", async () => {
        await isolate(db);
        const u = await user(db, { credits: 10_000 });
        const ids: string[] = [];
        for (let i = 0; i < 200; i++) ids.push(await instance(db, u, { platformKey: i % 2 === 0 }));
        const other = new pg.Pool({ connectionString: (db as Database & { url?: string }).url, max: 2 });
        try {
          const now = at(T0, 5 * MIN);
          const [a, b] = await Promise.all([meterTick(db.pool, { now }), meterTick(other, { now })]);
          assert.equal(a.computeRows + b.computeRows, 200);
          assert.equal(a.modelRows + b.modelRows, 100);
          const { rows } = await db.pool.query(
            `SELECT count(*)::int AS n, count(DISTINCT (instance_id, kind))::int AS distinct_n FROM credit_ledger WHERE instance_id = ANY($1) AND window_start = $2`,
            [ids, T0],
          );
          assert.deepEqual(rows[0], { n: 300, distinct_n: 300 });
        } finally {
          await other.end();
        }
      });

    test("daily cap: reached → paused with the reason; resumes the next UTC day", async () => {
      await isolate(db);
      const u = await user(db, { credits: 1000, cap: 2 });
      const id = await instance(db, u, { type: "t3.small" }); // 1.25 credits a window
      const free = await instance(db, u, { type: "local" }); // costs nothing: the cap does not stop it
      let r = await meterTick(db.pool, { now: at(T0, 5 * MIN) });
      assert.deepEqual(r.paused, []);
      r = await meterTick(db.pool, { now: at(T0, 10 * MIN) });
      assert.deepEqual(r.paused, [id]);
      const p = await row(db, id);
      assert.equal(p.desired_state, "stopped", "the reconciler stops the gateway");
      assert.equal(p.state, "stopping");
      assert.equal(p.pause_reason, "daily_cap");
      assert.equal(p.paused_until?.toISOString(), "2026-11-21T00:00:00.000Z");
      assert.match(p.state_reason!, /daily credit cap of 2 credits reached \(2\.5 spent today\); resumes at 2026-11-21T00:00Z/);
      assert.equal((await row(db, free)).desired_state, "running");
      await reconcilerStops(db, id, at(T0, 10 * MIN + 20_000));
      r = await meterTick(db.pool, { now: at(T0, 15 * MIN) });
      assert.equal(total(await charges(db, id)), 2500 + expectedMilli(15, at(T0, 10 * MIN), at(T0, 10 * MIN + 20_000)), "charged until it stopped");
      assert.deepEqual(r.resumed, [], "still the same day");
      assert.equal((await row(db, id)).desired_state, "stopped");
      const nextDay = new Date(Date.UTC(2026, 10, 21, 0, 0, 30));
      r = await meterTick(db.pool, { now: nextDay });
      assert.deepEqual(r.resumed, [id]);
      const q = await row(db, id);
      assert.equal(q.desired_state, "running");
      assert.equal(q.pause_reason, null);
      assert.equal(q.state_reason, null);
    });

    test("max session runtime: paused when reached; resumes when raised or cleared", async () => {
      await isolate(db);
      const u = await user(db, { credits: 1000, session: 30 });
      const id = await instance(db, u, { type: "local" }); // even a free instance: a runaway agent must not loop forever
      let r = await meterTick(db.pool, { now: at(T0, 25 * MIN) });
      assert.deepEqual(r.paused, []);
      r = await meterTick(db.pool, { now: at(T0, 30 * MIN) });
      assert.deepEqual(r.paused, [id]);
      const p = await row(db, id);
      assert.equal(p.pause_reason, "session_limit");
      assert.equal(p.paused_until, null);
      assert.match(p.state_reason!, /max session runtime of 30 minutes reached/);
      await reconcilerStops(db, id, at(T0, 30 * MIN));
      assert.deepEqual((await checkLimits(db.pool, u, { now: at(T0, 40 * MIN) })).resumed, [], "same limit: stays paused");
      await db.pool.query("UPDATE user_settings SET max_session_minutes = 60 WHERE owner_id = $1", [u]);
      assert.deepEqual((await checkLimits(db.pool, u, { now: at(T0, 41 * MIN) })).resumed, [id], "raised past the session's length");
      await db.pool.query("UPDATE instances SET state = 'running', started_at = $2 WHERE id = $1", [id, at(T0, 42 * MIN)]);
      await db.pool.query("UPDATE user_settings SET max_session_minutes = 5 WHERE owner_id = $1", [u]);
      assert.deepEqual((await checkLimits(db.pool, u, { now: at(T0, 47 * MIN) })).paused, [id]);
      await reconcilerStops(db, id, at(T0, 47 * MIN));
      await db.pool.query("UPDATE user_settings SET max_session_minutes = NULL WHERE owner_id = $1", [u]);
      assert.deepEqual((await checkLimits(db.pool, u, { now: at(T0, 48 * MIN) })).resumed, [id], "cleared");
    });

    test("a balance at zero stops charged instances with a clear reason (free ones run on); credits start them again", async () => {
      await isolate(db);
      const owner = await signUp(t.app);
      const u = owner.id;
      const id = await instance(db, u, { type: "t3.micro" });
      const free = await instance(db, u, { type: "local" });
      const r = await meterTick(db.pool, { now: at(T0, 5 * MIN) });
      assert.deepEqual(r.paused, [id]);
      const p = await row(db, id);
      assert.equal(p.pause_reason, "no_credits");
      assert.match(p.state_reason!, /stopped: your credit balance is -0\.41[67] credits; it starts again once credits are added/);
      assert.equal((await row(db, free)).desired_state, "running");
      // The user sees why in GET /api/v1/instances.
      const list = (await t.app.inject({ method: "GET", url: "/api/v1/instances", headers: owner.auth })).json() as {
        items: { id: string; stateReason: string; pauseReason: string }[];
      };
      const mine = list.items.find((i) => i.id === id)!;
      assert.match(mine.stateReason, /credit balance/);
      assert.equal(mine.pauseReason, "no_credits");
      // Starting it by hand while the balance is still 0: paused again at once, with the reason.
      const start = await t.app.inject({ method: "POST", url: `/api/v1/instances/${id}/start`, headers: owner.auth });
      assert.equal(start.statusCode, 202);
      assert.equal(start.json().pauseReason, "no_credits");
      assert.equal(start.json().desiredState, "stopped");
      // An admin grant resumes it straight away.
      const g = await t.app.inject({
        method: "POST",
        url: "/api/v1/admin/credits/grant",
        headers: admin.auth,
        payload: { email: owner.email, credits: 10 },
      });
      assert.equal(g.statusCode, 201, g.body);
      const q = await row(db, id);
      assert.equal(q.desired_state, "running");
      assert.equal(q.pause_reason, null);
    });

    test("an instance type without a rate is charged nothing and stopped, naming the type", async () => {
      await isolate(db);
      const u = await user(db, { credits: 100 });
      const id = await instance(db, u, { type: "m5.large" });
      const r = await meterTick(db.pool, { now: at(T0, 5 * MIN) });
      assert.equal((await charges(db, id)).length, 0);
      assert.deepEqual(r.paused, [id]);
      assert.match((await row(db, id)).state_reason!, /instance type "m5\.large" has no rate/);
    });

    test("settings: raising or clearing the daily cap resumes at once; bad limits are refused naming the field and change nothing", async () => {
      await isolate(db);
      const owner = await signUp(t.app);
      await t.app.inject({ method: "POST", url: "/api/v1/admin/credits/grant", headers: admin.auth, payload: { email: owner.email, credits: 100 } });
      const set = (payload: object) => t.app.inject({ method: "PATCH", url: "/api/v1/settings", headers: owner.auth, payload });
      assert.equal((await set({ dailyCreditCap: 1 })).statusCode, 200);
      // Real time here: the route checks against today.
      const now = Date.now();
      const w = windowStart(now);
      const id = await instance(db, owner.id, { type: "t3.small", startedAt: new Date(w.getTime() - WINDOW_MS) });
      const r = await meterTick(db.pool, { now: new Date(now) });
      assert.deepEqual(r.paused, [id], "1.25 credits ≥ a cap of 1");
      for (const [payload, field] of [
        [{ dailyCreditCap: -5 }, "dailyCreditCap"],
        [{ dailyCreditCap: 0 }, "dailyCreditCap"],
        [{ dailyCreditCap: 10_000_000 }, "dailyCreditCap"],
        [{ dailyCreditCap: 2.5 }, "dailyCreditCap"],
        [{ dailyCreditCap: "lots" }, "dailyCreditCap"],
        [{ maxSessionMinutes: -1 }, "maxSessionMinutes"],
        [{ maxSessionMinutes: 1_000_000 }, "maxSessionMinutes"],
      ] as const) {
        const res = await set(payload);
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().error.field, field);
        assert.match(res.json().error.message, new RegExp(field));
      }
      assert.equal((await row(db, id)).desired_state, "stopped", "bad input changed nothing");
      assert.equal((await set({ dailyCreditCap: 1 })).statusCode, 200);
      assert.equal((await row(db, id)).desired_state, "stopped", "the same cap: still paused");
      assert.equal((await set({ dailyCreditCap: 5 })).statusCode, 200);
      assert.equal((await row(db, id)).desired_state, "running", "raised: resumed at once");
      assert.equal((await set({ dailyCreditCap: 1 })).statusCode, 200);
      assert.equal((await row(db, id)).pause_reason, "daily_cap", "lowered below today's spend: paused at once");
      await reconcilerStops(db, id, new Date());
      assert.equal((await set({ dailyCreditCap: null })).statusCode, 200);
      assert.equal((await row(db, id)).desired_state, "running", "cleared: resumed");
      // An unknown instance type is refused at create, naming the field, and nothing is ever charged for it.
      const before = (await db.pool.query("SELECT count(*)::int AS n FROM credit_ledger WHERE owner_id = $1", [owner.id])).rows[0].n;
      const bad = await t.app.inject({
        method: "POST",
        url: "/api/v1/instances",
        headers: owner.auth,
        payload: { name: "big", provider: "aws", instanceType: "t9.huge" },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().error.field, "instanceType");
      const after = (await db.pool.query("SELECT count(*)::int AS n FROM credit_ledger WHERE owner_id = $1", [owner.id])).rows[0].n;
      assert.equal(after, before);
    });

    test("usage: burn rate, spend today and this month per instance and agent, forecast; user B sees none of A's", async () => {
      await isolate(db);
      const a = await signUp(t.app);
      const b = await signUp(t.app);
      await t.app.inject({ method: "POST", url: "/api/v1/admin/credits/grant", headers: admin.auth, payload: { email: a.email, credits: 110 } });
      const now = Date.now();
      const w = windowStart(now);
      const platform = await instance(db, a.id, { platformKey: true, startedAt: new Date(w.getTime() - WINDOW_MS) });
      const opus = await agent(db, a.id, platform, "anthropic/claude-opus-4-6");
      const stopped = await instance(db, a.id, { type: "t3.small", state: "stopped", desired: "stopped", startedAt: null });
      await meterTick(db.pool, { now: new Date(now) });
      const res = await t.app.inject({ method: "GET", url: "/api/v1/credits/usage", headers: a.auth });
      assert.equal(res.statusCode, 200, res.body);
      const u = res.json();
      const windowCost = expectedMilli(5, new Date(w.getTime() - WINDOW_MS), w) + expectedMilli(100, new Date(w.getTime() - WINDOW_MS), w);
      assert.equal(u.burnRate, 105, "t3.micro 5 + Opus 4.6 100");
      assert.equal(u.balance, (110_000 - windowCost) / 1000);
      const hours = u.balance / 105;
      assert.ok(Math.abs(Date.parse(u.runsOutAt) - (Date.parse(u.asOf) + hours * HOUR)) < 1000, "balance / burn rate from now");
      assert.equal(u.hoursLeft, Math.round(hours * 100) / 100);
      const pi = u.instances.find((i: { id: string }) => i.id === platform);
      assert.deepEqual({ burn: pi.burnRate, compute: pi.computeRate, model: pi.modelRate }, { burn: 105, compute: 5, model: 100 });
      const sameDay = new Date(w.getTime() - WINDOW_MS).getUTCDate() === new Date(now).getUTCDate();
      if (sameDay) {
        assert.equal(pi.spentToday, windowCost / 1000);
        assert.equal(u.today.spent, windowCost / 1000);
      }
      assert.equal(pi.spentThisMonth >= pi.spentToday, true);
      const si = u.instances.find((i: { id: string }) => i.id === stopped);
      assert.deepEqual({ burn: si.burnRate, compute: si.computeRate, spent: si.spentThisMonth }, { burn: 0, compute: 15, spent: 0 });
      const ag = u.agents.find((x: { id: string }) => x.id === opus);
      assert.equal(ag.burnRate, 100);
      if (sameDay) assert.equal(ag.spentToday, expectedMilli(100, new Date(w.getTime() - WINDOW_MS), w) / 1000);
      // Direct call with a clock: nothing burns → no forecast.
      const later = await usage(db.pool, b.id);
      assert.equal(later.burnRate, 0);
      assert.equal(later.runsOutAt, null);
      // B sees only B's (nothing).
      const ub = (await t.app.inject({ method: "GET", url: "/api/v1/credits/usage", headers: b.auth })).json();
      assert.deepEqual([ub.instances, ub.agents, ub.balance, ub.burnRate], [[], [], 0, 0]);
      assert.equal((await t.app.inject({ method: "GET", url: "/api/v1/credits/usage" })).statusCode, 401);
    });

    test("the running totals kept by the trigger equal the ledger's sums", async () => {
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n FROM (SELECT owner_id, sum(amount_milli) AS s FROM credit_ledger GROUP BY owner_id) l
           FULL JOIN credit_balances b USING (owner_id) WHERE l.s IS DISTINCT FROM b.balance_milli`,
      );
      assert.equal(rows[0].n, 0);
      const d = await db.pool.query(
        `SELECT count(*)::int AS n FROM (SELECT owner_id, (window_start AT TIME ZONE 'UTC')::date AS day, -sum(amount_milli) AS s FROM credit_ledger
            WHERE kind IN ('compute', 'model') GROUP BY 1, 2) l FULL JOIN credit_daily_spend d USING (owner_id, day) WHERE l.s IS DISTINCT FROM d.spent_milli`,
      );
      assert.equal(d.rows[0].n, 0);
    });

    test("the pg-boss job runs the tick and tells the reconciler what it paused", async () => {
      await isolate(db);
      const u = await user(db, { credits: 0 });
      const id = await instance(db, u, { startedAt: new Date(windowStart(Date.now()).getTime() - WINDOW_MS) });
      const pool = db.pool;
      const boss = new PgBoss({
        db: { executeSql: (text: string, values: unknown[]) => pool.query(text, values as never[]) },
        schedule: false,
        superviseIntervalSeconds: 60,
      } as PgBoss.ConstructorOptions);
      boss.on("error", () => {});
      await boss.start();
      const changed: string[] = [];
      const meter = new MeterService({ database: db, log: t.app.log, changed: async (i) => void changed.push(i), pollMs: 60_000 });
      // pg-boss's singleton window is a fixed 5-minute slot of the clock (real time here).
      const slot = () => Math.floor(Date.now() / 300_000);
      const startSlot = slot();
      try {
        await meter.start(boss);
        const deadline = Date.now() + 15_000;
        while (!changed.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.ok(changed.includes(id), "paused for lack of credits, and the reconciler told");
        // One window (two if a 5-minute boundary passed while the test ran: real time here).
        assert.ok([1, 2].includes((await charges(db, id)).length));
        // A second request in the same window makes no second job (unless the clock crossed into the
        // next 5-minute slot meanwhile: then a new window has begun and a job for it is right).
        const second = await boss.send(METER_QUEUE, {}, { singletonKey: "window", singletonSeconds: 300 });
        if (slot() === startSlot) assert.equal(second, null);
      } finally {
        meter.stop();
        await boss.stop({ graceful: true, timeout: 2000 }).catch(() => {});
      }
    });
  });
}

/** Typed so a test reads rates like the server does. */
export type { Rates };
