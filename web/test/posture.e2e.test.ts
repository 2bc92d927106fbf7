// The posture dashboard (issue 18) in a browser, against a real control plane (instance manager with
// the byo provider, PGlite) and a user's machine whose instance agent is a stand-in (MOCK): it dials
// the agent endpoint with the instance's real token and answers the posture commands (`audit`,
// `integrity`, `accept_integrity`) the way the real agent does, its audit reports computed by the real
// engine (@tropic/hardening runAudit) over a snapshot with known misconfigurations. Past audits and an
// integrity incident are rows written straight into the test's database: they stand in for audits and
// integrity checks the agent ran on earlier days. Asserted: the card's gauge and incident badge, the
// Security page's findings by severity (evidence, remediation, frameworks), accepted findings apart,
// one chart point per audit, accepting an incident with a reason (refused without one), "Run audit
// now" with its progress, and the 409 message in the user's words.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { type Report, runAudit, type Snapshot } from "@tropic/hardening";
import { ByoProvider } from "@tropic/providers";
import { buildApp, LOG_REDACT } from "../../server/src/app.ts";
import { loadConfig } from "../../server/src/config.ts";
import { InstanceManager } from "../../server/src/instances/manager.ts";
import { LocalKek } from "../../server/src/secrets/envelope.ts";
import { freshDatabase, TEST_KEY } from "../../server/test/harness.ts";
import { connectStandInAgent } from "../../server/test/stand-in-agent.ts";
import { CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

const HOST = { os: "linux", arch: "x64", hostname: "laptop", agentVersion: "0.1.0", openclawVersion: "2026.9.6" };
const ACCEPTED_WHY = "the host's own isolation is in force (test)";

/** A host with known misconfigurations: gateway bound to lan, a short token, .env world-readable, a key in SOUL.md. */
function snapshot(fixed: boolean): Snapshot {
  return {
    host: { platform: "linux-x64", kind: "byo", uid: 1000 },
    stateDir: "/home/u/.openclaw",
    config: {
      gateway: { bind: fixed ? "loopback" : "lan", auth: { mode: "token", token: fixed ? "x".repeat(48) : "short" } },
      discovery: { mdns: { mode: "full" } },
    },
    files: { env: { path: "/home/u/.openclaw/.env", mode: fixed ? 0o600 : 0o644, uid: 1000, gid: 1000 } },
    identityFiles: { "SOUL.md": fixed ? "be kind\n" : "be kind\nAKIAIOSFODNN7EXAMPLE\n" },
  };
}
const report = (fixed: boolean): Report => runAudit(snapshot(fixed), { accepted: { "sandbox.agent_mode_off": ACCEPTED_WHY } });

test("Posture in a browser (stand-in agent, MOCK): card gauge and alert badge, findings by severity, accepted apart, score over time, accept an incident, run an audit", {
  timeout: 180_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`,
}, async (t) => {
  const database = await freshDatabase("pglite");
  const gateway = createServer((req, res) => res.writeHead(req.url === "/readyz" ? 200 : 404).end()).listen(0, "127.0.0.1");
  const app = await buildApp({
    config: loadConfig({}, { dataDir: database.dataDir, authRateLimit: 1000 }),
    database,
    kek: new LocalKek(TEST_KEY),
    logger: { level: "fatal", redact: LOG_REDACT },
    instances: (log) =>
      new InstanceManager({
        database,
        kek: new LocalKek(TEST_KEY),
        providers: { byo: new ByoProvider() },
        agentUrl: () => "ws://127.0.0.1:9",
        log,
        healthIntervalMs: 300,
      }),
  });
  const base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace("[::1]", "127.0.0.1");
  await app.instances!.start();
  const s = await openBrowser();
  let agent: Awaited<ReturnType<typeof connectStandInAgent>> | null = null;
  t.after(async () => {
    agent?.close();
    await s.close().catch(() => {});
    await app.close();
    gateway.close();
    await database.close();
  });
  const { page } = s;
  const email = `posture-${Date.now()}@example.com`;
  await signUpInBrowser(page, base, email);
  const apiCall = async (method: string, path: string, data?: unknown) => {
    const r = await page.request.fetch(`${base}${path}`, { method, ...(data !== undefined ? { data } : {}) });
    const text = await r.text();
    return { status: r.status(), json: text ? JSON.parse(text) : null };
  };

  // The user connects a machine; its agent enrols and dials in (running once its gateway answers /readyz).
  const c = await apiCall("POST", "/api/v1/instances/connect", { name: "laptop" });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  const id: string = c.json.instance.id;
  const enrol = await fetch(`${base}/api/v1/hosts/enrol`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: c.json.enrolment.token, host: HOST }),
  });
  assert.equal(enrol.status, 200);
  const creds = (await enrol.json()) as { agentToken: string };
  const asked: { kind: string; payload: Record<string, unknown> }[] = [];
  let auditDelayMs = 0;
  agent = await connectStandInAgent({ base, token: creds.agentToken, instanceId: id, port: (gateway.address() as AddressInfo).port });
  agent.ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(String(data));
    if (f.type !== "command") return;
    asked.push({ kind: f.kind, payload: f.payload });
    const ack = (result?: unknown) =>
      agent?.ws.send(JSON.stringify({ type: "ack", id: f.id, ok: true, ...(result !== undefined ? { result } : {}) }));
    if (f.kind === "audit")
      setTimeout(() => ack({ report: report(true), hardened: null, integrity: { baseline: true, incidents: [] } }), auditDelayMs);
    else if (f.kind === "integrity") ack({ baseline: true, incidents: [] });
    else ack({});
  });
  for (let i = 0; ; i++) {
    if ((await apiCall("GET", `/api/v1/instances/${id}`)).json.state === "running") break;
    assert.ok(i < 200, "the machine's instance is running");
    await new Promise((r) => setTimeout(r, 100));
  }
  // (reaching running may queue the control plane's own provision/deploy audits: let them land first)
  await new Promise((r) => setTimeout(r, 1500));

  // Rows standing in for audits the agent ran on earlier days: the baseline at provisioning (the host
  // as it was, badly set up), two daily audits, the latest with the findings the page must show; and
  // the integrity check's incident: SOUL.md changed since its baseline.
  const { rows: owner } = await database.pool.query("SELECT owner_id FROM instances WHERE id = $1", [id]);
  const ownerId: string = owner[0].owner_id;
  const bad = report(false);
  const seeded: { kind: string; daysAgo: number; r: Report }[] = [
    { kind: "provision", daysAgo: 3, r: { ...bad, score: 40 } },
    { kind: "daily", daysAgo: 2, r: { ...bad, score: 55 } },
    { kind: "daily", daysAgo: 1, r: bad },
  ];
  for (const a of seeded)
    await database.pool.query(
      `INSERT INTO instance_audits (id, owner_id, instance_id, kind, score, counts, report, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() - make_interval(days => $8))`,
      [crypto.randomUUID(), ownerId, id, a.kind, a.r.score, JSON.stringify(a.r.counts), JSON.stringify(a.r), a.daysAgo],
    );
  // Anything the control plane ran itself at "running" is newer than the seeded rows: drop it, so the latest is known.
  await database.pool.query("DELETE FROM instance_audits WHERE instance_id = $1 AND created_at > now() - interval '1 hour'", [id]);
  const incidentId = crypto.randomUUID();
  await database.pool.query(
    `INSERT INTO integrity_incidents (id, owner_id, instance_id, name, path, change, expected, actual, detected_at)
     VALUES ($1, $2, $3, 'workspace/SOUL.md', '/home/u/.openclaw/workspace/SOUL.md', 'changed', $4, $5, now() - interval '5 hours')`,
    [incidentId, ownerId, id, "a".repeat(64), "b".repeat(64)],
  );
  assert.ok(bad.findings.length >= 8 && bad.accepted.length === 1, "the snapshot gives findings to show and one accepted");
  for (const sev of ["CRIT", "HIGH", "MED", "LOW"] as const) assert.ok(bad.counts[sev] > 0, `a ${sev} finding in the seeded report`);

  await t.test("the card: the latest score in the gauge and the open incident as a badge; it opens the Security page", async () => {
    await page.goto(`${base}/agents`);
    const card = page.locator("section.card.instance", { hasText: "laptop" });
    const gauge = card.getByTestId("posture-gauge");
    await gauge.waitFor();
    assert.equal(await gauge.getAttribute("aria-label"), `Posture score ${bad.score} of 100`);
    assert.equal(await gauge.getAttribute("data-score"), String(bad.score));
    assert.match((await card.locator(".posture-link").textContent()) ?? "", /Security: Poor/);
    assert.equal(await card.getByTestId("incident-badge").textContent(), "1 integrity alert");
    await s.shot("posture-card");
    await card.locator(".posture-link").click();
    await page.waitForURL(`${base}/instances/${id}/security`);
    await page.getByRole("heading", { name: "Security of laptop" }).waitFor();
    // The page's own address works too (a reload, a bookmark): the server serves the dashboard there.
    const direct = await page.goto(`${base}/instances/${id}/security`);
    assert.equal(direct?.status(), 200);
    await page.getByRole("heading", { name: "Security of laptop" }).waitFor();
  });

  await t.test(
    "the Security page: the alert, the score, findings by severity with evidence and remediation, accepted apart, one point per audit",
    async () => {
      const alert = page.locator(`[data-incident="${incidentId}"]`);
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? "", /workspace\/SOUL\.md changed at/);
      assert.equal(
        await page
          .getByTestId("posture-score")
          .first()
          .textContent()
          .then((x) => x?.startsWith(`${bad.score} of 100`)),
        true,
      );
      // Severity groups in order, critical first, each with exactly its findings.
      const groups = await page.locator("[data-severity-group]").evaluateAll((els) => els.map((e) => e.getAttribute("data-severity-group")));
      assert.deepEqual(groups, ["CRIT", "HIGH", "MED", "LOW"]);
      for (const f of bad.findings) {
        const item = page.locator(`[data-severity-group="${f.severity}"] [data-finding="${f.id}"]`);
        assert.equal(await item.count(), 1, `${f.id} under ${f.severity}`);
        assert.equal(await item.locator(".evidence").textContent(), f.evidence);
        assert.equal(await item.locator(".remediation").textContent(), f.remediation);
        assert.match((await item.textContent()) ?? "", new RegExp(f.title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
        for (const fw of f.frameworks) assert.ok(((await item.locator(".frameworks").textContent()) ?? "").includes(fw), `${fw} on ${f.id}`);
      }
      // The accepted finding: in its own section with the reason, never among the open ones.
      const acc = bad.accepted[0]!;
      const accepted = page.getByTestId("accepted-findings");
      assert.equal(await accepted.locator(`[data-finding="${acc.id}"] [data-testid="accepted-reason"]`).textContent(), ACCEPTED_WHY);
      assert.equal(await page.locator(`[data-severity-group] [data-finding="${acc.id}"]`).count(), 0);
      // The score over time: one point per audit, oldest first.
      const points = page.getByTestId("posture-point");
      assert.equal(await points.count(), 3);
      assert.deepEqual(await points.evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-score")))), [40, 55, bad.score]);
      await s.shot("posture-page");
    },
  );

  await t.test("accepting the incident: a reason is required, then the alert goes and the reason is kept", async () => {
    await page.getByRole("button", { name: "Accept workspace/SOUL.md as new baseline" }).click();
    const dialog = page.getByRole("alertdialog");
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Accept as new baseline" }).click();
    await dialog.getByText("Write a reason: why is this change expected?").waitFor();
    assert.equal(asked.filter((a) => a.kind === "accept_integrity").length, 0, "nothing sent without a reason");
    await dialog.getByLabel("Reason").fill("I rewrote the agent's tone");
    await s.shot("posture-accept");
    await dialog.getByRole("button", { name: "Accept as new baseline" }).click();
    await page.getByText("The change is accepted as the new baseline.").waitFor();
    // (the page reloads the posture after the accept: the alert leaves, the accepted change is listed)
    await page.locator(`[data-testid="integrity-alerts"] [data-incident="${incidentId}"]`).waitFor({ state: "detached" });
    const kept = page.locator(`.baseline-list [data-incident="${incidentId}"]`);
    await kept.waitFor();
    assert.match((await kept.textContent()) ?? "", /I rewrote the agent's tone/);
    const sent = asked.filter((a) => a.kind === "accept_integrity");
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.payload.names, ["workspace/SOUL.md"]);
    const { rows } = await database.pool.query("SELECT accepted_at, accepted_reason FROM integrity_incidents WHERE id = $1", [incidentId]);
    assert.ok(rows[0].accepted_at);
    assert.equal(rows[0].accepted_reason, "I rewrote the agent's tone");
    await page.goto(`${base}/agents`);
    const card = page.locator("section.card.instance", { hasText: "laptop" });
    await card.getByTestId("posture-gauge").waitFor();
    assert.equal(await card.getByTestId("incident-badge").count(), 0, "no badge once nothing is open");
  });

  await t.test("Run audit now: progress while the agent audits, the new score and a fourth point; a stopped instance says so", async () => {
    // (from the card: the page's own URL is drawn by the dashboard once loaded)
    await page.locator("section.card.instance", { hasText: "laptop" }).locator(".posture-link").click();
    await page.getByRole("heading", { name: "Security of laptop" }).waitFor();
    const fixed = report(true);
    assert.ok(fixed.score > bad.score, "the fixed host scores higher");
    auditDelayMs = 2500;
    await page.getByRole("button", { name: "Run audit now" }).click();
    await page.getByText(/Auditing laptop: \d+ s\. An audit reads/).waitFor();
    assert.equal(await page.getByRole("button", { name: "Auditing…" }).isDisabled(), true);
    await page.getByText(`Audit finished: the score is ${fixed.score} of 100.`).waitFor({ timeout: 30_000 });
    await page.locator(`[data-testid="posture-point"]`).nth(3).waitFor();
    assert.equal(await page.getByTestId("posture-point").count(), 4);
    assert.equal(await page.getByTestId("posture-gauge").first().getAttribute("data-score"), String(fixed.score));
    assert.equal(asked.filter((a) => a.kind === "audit" && a.payload.kind === "manual").length, 1);

    // The user stops the instance (its agent stops the gateway); an audit now is refused in plain words.
    agent?.close();
    agent = null;
    await database.pool.query("UPDATE instances SET state = 'stopped', desired_state = 'stopped' WHERE id = $1", [id]);
    await page.getByRole("button", { name: "Run audit now" }).click();
    const err = page.getByTestId("audit-error");
    await err.waitFor();
    assert.equal(
      await err.textContent(),
      "The instance is not running, so it cannot be audited. Start it on the Agents page, then run the audit again.",
    );
    await s.shot("posture-not-running");

    // At phone width the page fits: nothing wider than the screen (findings' facts stack).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId("posture-chart").waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "no horizontal scroll at 390 px");
    await s.shot("posture-phone");
    // (the sign-up page asks who is signed in first: that 401 is expected; the refused audit is the 409)
    assert.deepEqual(
      s.problems.filter((p) => !p.includes("status of 401") && !p.includes("status of 409")),
      [],
    );
  });
});
