// The gate's switch on the control plane (issue 19): PUT /api/v1/instances/{id}/gate on a user's
// machine (byo) whose agent is the scripted stand-in on the real protocol. Validation in the API's
// field names, owners, the audit event, the command to the agent (a newer switch supersedes one not
// yet delivered, a reconnecting agent gets the desired state again), the card's state read from the
// agent's report (pending until it says so, "off" while it runs without the gate), the audit's packs.
// Nothing the instance holds (its agent's token) can call the switch.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { and, eq } from "drizzle-orm";
import { runAudit } from "@tropic/hardening/engine.ts";
import { auditEvents, instanceCommands } from "../src/db/schema.ts";
import { byoControlPlane, freshDatabase, signUp } from "./harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";

const HOST = { os: "linux", arch: "x64", hostname: "laptop", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DEFAULT = { base: true, system: false, owasp: false };
/** a gate-switch command (the Settings toggles go to the gate as set_gate_config too) */
const isSwitch = (g: { kind: string; payload: Record<string, any> }) => g.kind === "set_gate_config" && g.payload.gateSwitch === true;

test("gate switch: validation, owners, audit event, the agent's command and its report, supersede, resend on connect, audit packs", async (t) => {
  const database = await freshDatabase("pglite");
  const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(0, "127.0.0.1");
  const { app, address } = await byoControlPlane(database, { manager: { posture: { tickMs: 3_600_000, dailyAfterMs: 3_600_000 } } });
  t.after(async () => {
    await app.close();
    gateway.close();
    await database.close();
  });
  const a = await signUp(app);
  const b = await signUp(app);
  const as = (headers: Record<string, string>) => (method: string, url: string, payload?: object) =>
    app.inject({ method: method as "GET", url, headers, ...(payload ? { payload } : {}) });
  const call = as(a.auth);
  const until = async <T>(f: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> => {
    const t0 = Date.now();
    for (;;) {
      const v = await f();
      if (v) return v;
      assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}`);
      await sleep(50);
    }
  };

  // The stand-in agent: what it was sent; it reports the gate as its gateway would have it.
  const got: { kind: string; payload: Record<string, any> }[] = [];
  let gate = { enabled: true, packs: DEFAULT };
  const answer = async (kind: string, payload: Record<string, unknown>) => {
    got.push({ kind, payload });
    if (kind === "set_gate_config" && (payload as any).gateSwitch)
      gate = { enabled: (payload as any).config.enabled, packs: (payload as any).config.packs };
    if (kind === "audit") {
      const report = runAudit({ config: {} }, {});
      return { ok: true, result: { report, hardened: null, integrity: { baseline: true, incidents: [] }, files: [] } };
    }
    return { ok: true };
  };
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
  const connect = () => connectStandInAgent({ base: address, token: creds.agentToken, instanceId: id, port, answer, status: { gate } });
  let agent = await connect();
  t.after(() => agent.close());
  const report = () =>
    agent.ws.send(
      JSON.stringify({
        type: "status",
        status: {
          agentPid: 1,
          agentRssBytes: 0,
          agentUptimeSec: 1,
          gatewayPid: 2,
          gatewayRssBytes: 0,
          gatewayUptimeSec: 1,
          gatewayRestarts: 0,
          gatewayReady: true,
          gate,
        },
      }),
    );
  const inst = async () => (await call("GET", `/api/v1/instances/${id}`)).json();
  await until(async () => (await inst()).state === "running", "running");

  // On by default, base only; what the gateway says is shown.
  assert.deepEqual((await inst()).gate, { enabled: true, packs: DEFAULT, observed: { enabled: true, packs: DEFAULT }, pending: false, off: false });

  // Bad input names the API's field; nothing is changed or sent.
  const switchesSent = () => got.filter(isSwitch).length;
  const sentBefore = switchesSent();
  const bad = async (payload: object, field: string, message?: RegExp) => {
    const r = await call("PUT", `/api/v1/instances/${id}/gate`, payload);
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().error.field, field, r.body);
    if (message) assert.match(r.json().error.message, message);
  };
  await bad({}, "enabled");
  await bad({ enabled: "no" }, "enabled");
  await bad({ enabled: true, packs: { base: false } }, "packs.base", /base pack stays on while the gate is on.*turn the gate off/);
  await bad({ enabled: true, packs: { finance: true } }, "packs.finance", /unknown field/);
  await bad({ enabled: true, packs: { system: "yes" } }, "packs.system");
  // Another user's instance is not found; no credentials, or the instance's own agent token, are refused.
  assert.equal((await as(b.auth)("PUT", `/api/v1/instances/${id}/gate`, { enabled: false })).statusCode, 404);
  assert.equal((await as({})("PUT", `/api/v1/instances/${id}/gate`, { enabled: false })).statusCode, 401);
  assert.equal(
    (await as({ authorization: `Bearer ${creds.agentToken}` })("PUT", `/api/v1/instances/${id}/gate`, { enabled: false })).statusCode,
    401,
  );
  await sleep(300);
  assert.equal(switchesSent(), sentBefore, "nothing sent to the agent");
  assert.equal((await inst()).gate.enabled, true);

  // Off: recorded, sent to the agent; pending until it reports the gateway has it, then "off".
  const off = await call("PUT", `/api/v1/instances/${id}/gate`, { enabled: false });
  assert.equal(off.statusCode, 200, off.body);
  assert.equal(off.json().gate.enabled, false);
  const cmd = await until(async () => got.find(isSwitch), "the switch at the agent");
  assert.deepEqual(cmd.payload, { gateSwitch: true, config: { enabled: false, packs: DEFAULT } });
  const [ev] = await database.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.ownerId, a.id), eq(auditEvents.action, "gate.disable")));
  assert.ok(ev, "an audit event");
  assert.equal(ev.objectId, id);
  assert.deepEqual(ev.details, { enabled: false, packs: DEFAULT, before: { enabled: true, packs: DEFAULT } });
  assert.deepEqual((await inst()).gate, { enabled: false, packs: DEFAULT, observed: { enabled: true, packs: DEFAULT }, pending: true, off: false });
  report();
  const offSeen = await until(async () => ((await inst()).gate.off ? (await inst()).gate : false), "the card's Gate off");
  assert.deepEqual(offSeen, { enabled: false, packs: DEFAULT, observed: { enabled: false, packs: DEFAULT }, pending: false, off: true });

  // Offline: switches queue; a newer one supersedes the one not yet delivered; a reconnect sends the last only.
  agent.close();
  await until(async () => (await inst()).state === "stopped", "offline");
  const n = got.length;
  assert.equal((await call("PUT", `/api/v1/instances/${id}/gate`, { enabled: true, packs: { owasp: true } })).statusCode, 200);
  const on = await call("PUT", `/api/v1/instances/${id}/gate`, { enabled: true, packs: { system: true } });
  assert.equal(on.statusCode, 200, on.body);
  assert.deepEqual(on.json().gate.packs, { base: true, system: true, owasp: true }, "packs not given stay as they were");
  const rows = await database.db
    .select()
    .from(instanceCommands)
    .where(and(eq(instanceCommands.instanceId, id), eq(instanceCommands.kind, "set_gate_config")));
  const switches = rows.filter((r) => (r.payload as any).gateSwitch);
  assert.deepEqual(
    switches.map((r) => [r.state, (r.payload as any).config.enabled]).sort(),
    [
      ["cancelled", true],
      ["done", false],
      ["pending", true],
    ].sort(),
  );
  const events = await database.db.select().from(auditEvents).where(eq(auditEvents.objectId, id));
  assert.deepEqual(
    events.filter((e) => e.action.startsWith("gate.")).map((e) => e.action),
    ["gate.disable", "gate.enable", "gate.packs"],
  );
  agent = await connect();
  await until(async () => got.slice(n).some(isSwitch), "the switch after the reconnect");
  await sleep(500);
  assert.deepEqual(
    got.slice(n).filter(isSwitch),
    [{ kind: "set_gate_config", payload: { gateSwitch: true, config: { enabled: true, packs: { base: true, system: true, owasp: true } } } }],
    "one switch, the newest",
  );
  report();
  await until(async () => {
    const g = (await inst()).gate;
    return g.observed?.packs.owasp && !g.pending && !g.off;
  }, "on again, reported");

  // A re-provisioned machine (its gateway back at the plugin's default) gets the desired state again when its agent connects.
  agent.close();
  await until(async () => (await inst()).state === "stopped", "offline again");
  gate = { enabled: true, packs: DEFAULT };
  const m = got.length;
  agent = await connect();
  const again = await until(async () => got.slice(m).find(isSwitch), "the desired state resent");
  assert.deepEqual(again.payload.config, { enabled: true, packs: { base: true, system: true, owasp: true } });

  // The audit compares the gate with the packs the user chose.
  await until(async () => (await inst()).state === "running", "running again");
  const audit = await call("POST", `/api/v1/instances/${id}/audits`, {});
  assert.equal(audit.statusCode, 200, audit.body);
  const asked = got.filter((g) => g.kind === "audit").at(-1)!;
  assert.deepEqual(asked.payload.packs, ["base", "system", "owasp"]);
});
