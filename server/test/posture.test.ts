// Host posture on the control plane (issue 18): a user's machine (byo) whose agent is the scripted
// stand-in on the real protocol, answering `audit`, `integrity` and `accept_integrity` with reports of
// the real audit engine. Stored audits and incidents, the API (owner-checked, 409/504), the provision
// audit once, the deploy re-audit, and the periodic fan-out running once with two control planes.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { and, eq } from "drizzle-orm";
import PgBoss from "pg-boss";
import { runAudit } from "@tropic/hardening/engine.ts";
import type { IntegrityIncident, Snapshot } from "@tropic/hardening/types.ts";
import { auditEvents, instanceAudits, integrityIncidents } from "../src/db/schema.ts";
import { AgentHub } from "../src/instances/hub.ts";
import { DAY_S, INTEGRITY_S, PostureService, periodStart } from "../src/posture/service.ts";
import { LocalKek } from "../src/secrets/envelope.ts";
import { backends, byoControlPlane, freshDatabase, signUp, TEST_KEY } from "./harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";

const HOST = { os: "linux", arch: "x64", hostname: "laptop", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A host with seeded misconfigurations: the gateway bound beyond loopback (CRIT), a short token (HIGH); mDNS on (accepted here). */
const SNAPSHOT: Snapshot = {
  config: { gateway: { bind: "lan", auth: { mode: "token", token: "short-token" } } },
};

for (const kind of await backends())
  test(`[${kind}] posture: provision audit once, deploy re-audit, manual audit, incidents deduplicated and accepted, owners, 409/504, the schedule runs once across two control planes`, async (t) => {
    const database = await freshDatabase(kind);
    const kek = new LocalKek(TEST_KEY);
    const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(0, "127.0.0.1");
    const { app, address } = await byoControlPlane(database, {
      manager: { posture: { tickMs: 3_600_000, retryDelaySeconds: 1, timeoutsMs: { audit: 1500 }, dailyAfterMs: 0 } },
    });
    let boss2: PgBoss | null = null;
    t.after(async () => {
      await boss2?.stop({ graceful: false, timeout: 1000 }).catch(() => {});
      await app.close();
      gateway.close();
      await database.close();
    });
    const posture = app.instances!.posture;
    const a = await signUp(app);
    const b = await signUp(app);
    const as = (u: typeof a) => (method: string, url: string, payload?: object) =>
      app.inject({ method: method as "GET", url, headers: u.auth, ...(payload ? { payload } : {}) });
    const call = as(a);
    const until = async <T>(f: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> => {
      const t0 = Date.now();
      for (;;) {
        const v = await f();
        if (v) return v;
        assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}`);
        await sleep(50);
      }
    };

    // The scripted agent: what it was asked, in order; its integrity state; whether it answers audits.
    const asked: { kind: string; payload: Record<string, unknown> }[] = [];
    let incidents: IntegrityIncident[] = [];
    let silent = false;
    const answer = async (kind: string, payload: Record<string, unknown>) => {
      asked.push({ kind, payload });
      if (kind === "audit") {
        if (silent) return undefined;
        const report = runAudit({ ...SNAPSHOT, integrity: { baseline: true, incidents } }, { accepted: { "gateway.discovery.mdns_on": "tested" } });
        const hardened = payload.harden ? [{ kind: "mode", target: ".env", from: "0644", to: "0600" }] : null;
        return { ok: true, result: { report, hardened, integrity: { baseline: true, incidents }, files: [] } };
      }
      if (kind === "integrity") return { ok: true, result: { baseline: true, incidents, checkedAt: new Date().toISOString() } };
      if (kind === "accept_integrity") {
        const names = (payload.names as string[] | undefined) ?? incidents.map((i) => i.name);
        incidents = incidents.filter((i) => !names.includes(i.name));
        return { ok: true, result: { accepted: names } };
      }
      return { ok: true };
    };

    // A machine enrols and its agent dials in: running → one provision audit (harden first).
    const c = (await call("POST", "/api/v1/instances/connect", { name: "box" })).json();
    const id = c.instance.id as string;
    const creds = await (
      await fetch(`${address}/api/v1/hosts/enrol`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: c.enrolment.token, host: HOST }),
      })
    ).json();
    const port = (gateway.address() as AddressInfo).port;
    let agent = await connectStandInAgent({ base: address, token: creds.agentToken, instanceId: id, port, answer });
    t.after(() => agent.close());
    const first = await until(async () => {
      const p = (await call("GET", `/api/v1/instances/${id}/posture`)).json();
      return p.score !== null && p;
    }, "the provision audit");
    assert.equal(first.kind, "provision");
    const expected = runAudit(SNAPSHOT, { accepted: { "gateway.discovery.mdns_on": "tested" } });
    assert.equal(first.score, expected.score, "the score is the engine's");
    assert.ok(first.score <= 100 - 15 - 8, "a CRIT and a HIGH cost 23 points at least");
    assert.deepEqual(first.counts, expected.counts);
    assert.ok(first.counts.CRIT >= 1 && first.counts.HIGH >= 1);
    assert.ok(first.report.findings.some((f: { id: string }) => f.id === "gateway.bind.beyond_loopback"));
    const auditsAsked = () => asked.filter((x) => x.kind === "audit");
    assert.equal(auditsAsked().length, 1);
    assert.deepEqual(auditsAsked()[0]!.payload, { kind: "provision", harden: true, openclaw: false, packs: ["base"] });
    const [row] = await database.db.select().from(instanceAudits).where(eq(instanceAudits.instanceId, id));
    assert.deepEqual(row!.hardened, [{ kind: "mode", target: ".env", from: "0644", to: "0600" }], "what hardening changed is kept");
    assert.equal(row!.ownerId, a.id);

    // The instance list and get carry the summary.
    const got = (await call("GET", `/api/v1/instances/${id}`)).json();
    assert.deepEqual(got.posture, { score: first.score, at: first.at, openIncidents: 0 });
    const listed = (await call("GET", "/api/v1/instances")).json();
    assert.deepEqual(listed.items.find((i: { id: string }) => i.id === id).posture, got.posture);

    // Provision once: running again (an offline blip) does not audit again.
    agent.close();
    await until(async () => (await call("GET", `/api/v1/instances/${id}`)).json().state === "stopped", "offline");
    // Offline: a manual audit is refused, a scheduled one skipped (no error, nothing asked).
    const offline = await call("POST", `/api/v1/instances/${id}/audits`, {});
    assert.equal(offline.statusCode, 409);
    assert.equal(offline.json().error.code, "not_running");
    await posture.handle({ instanceId: id, job: "daily", period: periodStart(new Date(), DAY_S).toISOString() });
    agent = await connectStandInAgent({ base: address, token: creds.agentToken, instanceId: id, port, answer });
    await until(async () => (await call("GET", `/api/v1/instances/${id}`)).json().state === "running", "running again");
    await posture.trigger(id, "provision"); // as if the reconciler said "running" again
    await sleep(2500);
    assert.equal(auditsAsked().length, 1, "one provision audit only");

    // Deploy an agent: once it is ready, a deploy re-audit.
    const dep = await call("POST", "/api/v1/agents", { instanceId: id, templateId: "personal-assistant" });
    assert.equal(dep.statusCode, 201, dep.body);
    await until(async () => auditsAsked().length === 2, "the deploy audit");
    assert.deepEqual(auditsAsked()[1]!.payload, { kind: "deploy", harden: false, openclaw: false, packs: ["base"] });
    await until(async () => (await call("GET", `/api/v1/instances/${id}/posture`)).json().kind === "deploy", "the deploy audit stored");

    // A manual audit: answered in the request, stored, last in the history (oldest first).
    const manual = await call("POST", `/api/v1/instances/${id}/audits`, {});
    assert.equal(manual.statusCode, 200, manual.body);
    const m = manual.json().audit;
    assert.equal(m.kind, "manual");
    assert.equal(m.score, expected.score);
    assert.deepEqual(m.counts, expected.counts);
    assert.equal(m.report.accepted[0].reason, "tested", "accepted findings keep their reason");
    let p = (await call("GET", `/api/v1/instances/${id}/posture`)).json();
    assert.deepEqual(
      p.history.map((h: { kind: string }) => h.kind),
      ["provision", "deploy", "manual"],
    );
    assert.equal(p.history[2].id, m.id);
    assert.equal(p.at, m.at);
    assert.ok(
      (await database.db.select().from(auditEvents).where(eq(auditEvents.action, "posture.audit"))).length >= 3,
      "runs are on the audit trail",
    );

    // The agent does not answer: 504 agent_timeout (after the configured 1.5 s).
    silent = true;
    const slow = await call("POST", `/api/v1/instances/${id}/audits`, {});
    assert.equal(slow.statusCode, 504, slow.body);
    assert.equal(slow.json().error.code, "agent_timeout");
    silent = false;

    // Integrity: SOUL.md edited after the baseline → one open incident, not one per check.
    const soul = { kind: "changed" as const, name: "workspace/main/SOUL.md", path: "/home/x/.openclaw/workspace/SOUL.md", expected: "a".repeat(64) };
    incidents = [{ ...soul, actual: "b".repeat(64) }];
    await posture.checkIntegrity({ id, ownerId: a.id });
    await posture.checkIntegrity({ id, ownerId: a.id });
    await call("POST", `/api/v1/instances/${id}/audits`, {}); // the audit reports it too
    p = (await call("GET", `/api/v1/instances/${id}/posture`)).json();
    assert.equal(p.incidents.length, 1, JSON.stringify(p.incidents));
    assert.equal(p.incidents[0].change, "changed");
    assert.equal(p.incidents[0].acceptedAt, null);
    // A further edit (another hash) is a new incident; a deleted gate file another.
    incidents = [
      { ...soul, actual: "c".repeat(64) },
      { kind: "deleted", name: "gate/plugin", path: "/home/x/.openclaw/extensions/tropic-gate" },
    ];
    await posture.checkIntegrity({ id, ownerId: a.id });
    await posture.checkIntegrity({ id, ownerId: a.id });
    p = (await call("GET", `/api/v1/instances/${id}/posture`)).json();
    assert.equal(p.incidents.length, 3);
    assert.equal((await call("GET", `/api/v1/instances/${id}`)).json().posture.openIncidents, 3);

    // Another user: 404 on every posture route of A's instance.
    const other = as(b);
    for (const [method, url, body] of [
      ["GET", `/api/v1/instances/${id}/posture`],
      ["POST", `/api/v1/instances/${id}/audits`, {}],
      ["POST", `/api/v1/instances/${id}/integrity/accept`, { reason: "mine now" }],
    ] as const) {
      const r = await other(method, url, body);
      assert.equal(r.statusCode, 404, `${method} ${url}: ${r.body}`);
    }

    // Bad input names the field; nothing is accepted then.
    const noReason = await call("POST", `/api/v1/instances/${id}/integrity/accept`, {});
    assert.equal(noReason.statusCode, 400);
    assert.equal(noReason.json().error.field, "reason");
    const tooLong = await call("POST", `/api/v1/instances/${id}/integrity/accept`, { reason: "x".repeat(501) });
    assert.equal(tooLong.json().error.field, "reason");
    const unknownId = await call("POST", `/api/v1/instances/${id}/integrity/accept`, { incidentIds: [crypto.randomUUID()], reason: "ok" });
    assert.equal(unknownId.statusCode, 400);
    assert.equal(unknownId.json().error.field, "incidentIds");
    assert.equal(asked.filter((x) => x.kind === "accept_integrity").length, 0, "nothing sent for bad input");

    // Accept the gate file's deletion only, then the rest.
    const gateIncident = p.incidents.find((i: { name: string }) => i.name === "gate/plugin");
    const one = await call("POST", `/api/v1/instances/${id}/integrity/accept`, { incidentIds: [gateIncident.id], reason: "reinstalled by hand" });
    assert.equal(one.statusCode, 200, one.body);
    assert.deepEqual(one.json().accepted, [gateIncident.id]);
    assert.deepEqual(asked.filter((x) => x.kind === "accept_integrity")[0]!.payload, { names: ["gate/plugin"], reason: "reinstalled by hand" });
    const rest = await call("POST", `/api/v1/instances/${id}/integrity/accept`, { reason: "I edited SOUL.md" });
    assert.equal(rest.statusCode, 200, rest.body);
    assert.equal(rest.json().accepted.length, 2, "both open SOUL.md incidents (the file's baseline is now current)");
    p = (await call("GET", `/api/v1/instances/${id}/posture`)).json();
    assert.ok(p.incidents.every((i: { acceptedAt: string | null }) => i.acceptedAt));
    assert.deepEqual(p.incidents.map((i: { reason: string }) => i.reason).sort(), ["I edited SOUL.md", "I edited SOUL.md", "reinstalled by hand"]);
    assert.equal((await call("GET", `/api/v1/instances/${id}`)).json().posture.openIncidents, 0);
    const accepts = await database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, "posture.integrity_accepted"), eq(auditEvents.objectId, id)));
    assert.equal(accepts.length, 2);
    assert.equal(accepts[0]!.actorId, a.id);
    // Accepted already: its id is no longer an open incident.
    const again = await call("POST", `/api/v1/instances/${id}/integrity/accept`, { incidentIds: [gateIncident.id], reason: "again" });
    assert.equal(again.json().error.field, "incidentIds");
    // The same change seen again after acceptance would be a new incident (the accepted row is history).
    assert.equal((await database.db.select().from(integrityIncidents).where(eq(integrityIncidents.instanceId, id))).length, 3);

    // The schedule: a second control plane on the same database (its own pg-boss, no agent connected to
    // it). Both fan out the same period: one daily audit (with OpenClaw's) and one integrity check.
    const before = { audits: auditsAsked().length, integrity: asked.filter((x) => x.kind === "integrity").length };
    boss2 = new PgBoss({
      db: { executeSql: (text: string, values: unknown[]) => database.pool.query(text, values as never[]) },
      schedule: false,
    } as PgBoss.ConstructorOptions);
    await boss2.start();
    const hub2 = new AgentHub({ db: database.db, kek, log: app.log });
    t.after(() => hub2.close());
    const second = new PostureService({ database, hub: hub2, log: app.log, tickMs: 3_600_000, retryDelaySeconds: 1, dailyAfterMs: 0 });
    t.after(() => second.stop());
    await second.start(boss2); // its start fans out too
    const now = new Date();
    const sent = (await posture.tick(now)) + (await second.tick(now)) + (await posture.tick(now));
    assert.equal(sent, 0, "the second control plane's start already queued this period's jobs: none twice");
    await until(
      async () => auditsAsked().length === before.audits + 1 && asked.filter((x) => x.kind === "integrity").length === before.integrity + 1,
      "the daily audit and the integrity check",
      30_000,
    );
    await sleep(3000); // retries on the other process, if any, would land now
    assert.equal(auditsAsked().length, before.audits + 1, "one daily audit");
    assert.equal(asked.filter((x) => x.kind === "integrity").length, before.integrity + 1, "one integrity check");
    assert.deepEqual(auditsAsked().at(-1)!.payload, { kind: "daily", harden: false, openclaw: true, packs: ["base"] });
    // Queued again in the same period (pg-boss's singleton rows archived, a restart): the claim holds.
    await posture.handle({ instanceId: id, job: "daily", period: periodStart(now, DAY_S).toISOString() });
    await posture.handle({ instanceId: id, job: "integrity", period: periodStart(now, INTEGRITY_S).toISOString() });
    assert.equal(auditsAsked().length, before.audits + 1);
    // A claim not done: another process is running it (skipped), or it died mid-run (after the lease, taken again).
    const done = await database.pool.query("SELECT job, done_at FROM posture_runs WHERE instance_id = $1 AND job = 'daily'", [id]);
    assert.ok(done.rows[0].done_at, "the daily run is done");
    const earlier = new Date(periodStart(now, INTEGRITY_S).getTime() - INTEGRITY_S * 1000);
    const integrityAsked = () => asked.filter((x) => x.kind === "integrity").length;
    await database.pool.query("INSERT INTO posture_runs (instance_id, job, period_start) VALUES ($1, 'integrity', $2)", [id, earlier.toISOString()]);
    await posture.handle({ instanceId: id, job: "integrity", period: earlier.toISOString() });
    assert.equal(integrityAsked(), before.integrity + 1, "a live claim of another process: skipped");
    await database.pool.query("UPDATE posture_runs SET claimed_at = now() - interval '5 minutes' WHERE job = 'integrity' AND period_start = $1", [
      earlier.toISOString(),
    ]);
    await posture.handle({ instanceId: id, job: "integrity", period: earlier.toISOString() });
    assert.equal(integrityAsked(), before.integrity + 2, "a dead run's claim is taken again after its lease");
    const daily = await database.db
      .select()
      .from(instanceAudits)
      .where(and(eq(instanceAudits.instanceId, id), eq(instanceAudits.kind, "daily")));
    assert.equal(daily.length, 1);
  });
