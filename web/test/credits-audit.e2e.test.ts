// The Audit and Credits pages against a real control plane with one real local instance (a sandboxed
// OpenClaw gateway with the gate plugin) and a scripted model. An agent turn whose `exec rm -rf` the
// gate denies is run through the gateway; the Audit page reads that DENY (with its rule id) from the
// instance's own audit log through the instance agent, and filters it. The credit meter charges the
// instance's past windows (real meterTick, local compute at 12 cr/hr from a rates file); the Credits
// page draws them as an SVG chart with the balance, burn rate and forecast. Also at the API: another
// user gets 404 for this instance's gate audit, and a stopped instance gets 409.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GatewayClient } from "../../plugin/test/gateway-client.ts";
import { ScriptedModel } from "../../plugin/test/model-server.ts";
import { meterTick } from "../../server/src/credits/meter.ts";
import { loadRates } from "../../server/src/credits/rates.ts";
import {
  Api,
  destroyAll,
  freshDataDir,
  gatewayInNamespace,
  inProcessServer,
  instanceFiles,
  removeDir,
  sleep,
  standInInternet,
} from "../../server/test/instances-harness.ts";
import { CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

test("Audit and Credits in a browser: the gate's DENY read through the instance agent, the burn chart from real meter charges", {
  timeout: 300_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`,
}, async (t) => {
  // Local instances cost 0 by default: 12 cr/hr here, so the meter writes charges (1 credit a window).
  const ratesDir = mkdtempSync(join(tmpdir(), "tropic-rates-"));
  const ratesFile = join(ratesDir, "rates.json");
  writeFileSync(ratesFile, JSON.stringify({ compute: { local: 12 } }));
  process.env.TROPIC_RATES_FILE = ratesFile;
  const model = new ScriptedModel();
  await model.start();
  model.script("rmrf", [{ name: "exec", arguments: { command: "rm -rf /tmp/tropic-audit-victim" } }]);
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  const s = await openBrowser();
  let phone: Awaited<ReturnType<typeof openBrowser>> | null = null;
  let client: GatewayClient | null = null;
  t.after(async () => {
    client?.close();
    await phone?.close().catch(() => {});
    await s.close().catch(() => {});
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
    removeDir(ratesDir);
    await model.stop();
  });
  const { page } = s;
  const base = server.url;
  const email = `audit-${Date.now()}@example.com`;
  await signUpInBrowser(page, base, email);
  const apiCall = async (method: string, path: string, data?: unknown) => {
    const r = await page.request.fetch(`${base}${path}`, { method, ...(data !== undefined ? { data } : {}) });
    const text = await r.text();
    return { status: r.status(), json: text ? JSON.parse(text) : null };
  };
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked by the assertions
  const until = async (path: string, pred: (j: any) => boolean, ms: number, what: string) => {
    const t0 = Date.now();
    for (;;) {
      const r = await apiCall("GET", path);
      if (pred(r.json)) return r.json;
      assert.ok(Date.now() - t0 < ms, `timed out waiting for ${what}; last: ${JSON.stringify(r.json)}`);
      await sleep(300);
    }
  };

  // The first account is the admin: credits first (a priced instance with no credits is paused).
  const grant = await apiCall("POST", "/api/v1/admin/credits/grant", { email, credits: 1000, note: "test credits" });
  assert.equal(grant.status, 201, JSON.stringify(grant.json));
  const set = await apiCall("PATCH", "/api/v1/settings", {
    model: "custom",
    // (the model is on "the internet": the sandbox reaches nothing on this machine)
    customModel: { provider: "scripted", modelId: "scripted", baseUrl: `${await (await standInInternet()).expose(model.port)}/v1` },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));

  // Before there is any instance: the Audit page says where logs come from.
  await page.goto(`${base}/audit`);
  await page.getByRole("heading", { name: "No instances yet" }).waitFor();

  const t0 = Date.now();
  const created = await apiCall("POST", "/api/v1/instances", { name: "home" });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id: string = created.json.id;
  const inst = await until(`/api/v1/instances/${id}`, (j) => j.state === "running", 180_000, "instance running");
  t.diagnostic(`instance running after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const dep = await apiCall("POST", "/api/v1/agents", { instanceId: id, templateId: "personal-assistant", model: "scripted/scripted" });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  const slug: string = dep.json.slug;
  await until(`/api/v1/agents/${dep.json.id}`, (j) => j.state === "ready", 60_000, "agent ready");

  await t.test("a turn whose exec rm -rf the gate denies; the API reads the DENY through the instance agent", async () => {
    const files = instanceFiles(dataDir, id);
    // (the gateway binds loopback in the instance's own network namespace: reached through a forward into it)
    const inside = await gatewayInNamespace(dataDir, id);
    t.after(() => inside.close());
    client = new GatewayClient(inside.port, files.config().gateway.auth.token);
    await client.connect();
    const sid = `audit-${Date.now().toString(36)}`;
    const res = await client.call(
      "agent",
      { message: "SCENARIO:rmrf please clean up.", agentId: slug, sessionId: sid, channel: "webchat", idempotencyKey: sid },
      { final: true, timeoutMs: 120_000 },
    );
    assert.ok(res, "the turn finished");
    assert.ok(model.of("rmrf").length >= 2, "the model got the tool result back");
    const audit = await until(
      `/api/v1/instances/${id}/gate-audit?decision=DENY&tool=exec`,
      (j) => j?.entries?.length > 0,
      15_000,
      "the DENY in the gate audit",
    );
    const e = audit.entries[0];
    assert.equal(e.tool, "exec");
    assert.equal(e.agentId, slug);
    assert.deepEqual(e.rules, ["base-deny-rm-rf"]);
    assert.match(e.paramsDigest, /rm -rf \/tmp\/tropic-audit-victim/);
    assert.ok(
      audit.entries.every((x: { decision: string }) => x.decision === "DENY"),
      "the filter is applied on the instance",
    );
    // A live reading: nothing of it is stored as an instance command.
    const { rows } = await server.database.pool.query("SELECT count(*)::int AS n FROM instance_commands WHERE kind = 'read_gate_audit'");
    assert.equal(rows[0].n, 0);
    const bad = await apiCall("GET", `/api/v1/instances/${id}/gate-audit?limit=501`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.field, "limit");
  });

  await t.test("the Audit page: pick the instance, see the DENY row with its rule, filter by decision", async () => {
    await page.goto(`${base}/audit`);
    const picker = page.getByLabel("Instance", { exact: true });
    await picker.waitFor();
    await picker.selectOption(id);
    const deny = page.locator('tr[data-decision="DENY"][data-tool="exec"]').first();
    await deny.waitFor({ timeout: 20_000 });
    assert.match((await deny.textContent()) ?? "", /base-deny-rm-rf/);
    assert.match((await deny.textContent()) ?? "", new RegExp(slug));
    await page.getByRole("heading", { name: "Gate decisions on home" }).waitFor();
    await s.shot("audit");

    // Only allowed calls: the DENY row goes (the turn had no allowed call: the empty state for filters).
    await page.getByLabel("Decision", { exact: true }).selectOption("ALLOW");
    await page.waitForFunction(() => !document.querySelector('tr[data-decision="DENY"]'));
    const other = await page.locator("tbody tr[data-decision]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-decision")));
    assert.ok(
      other.every((d) => d === "ALLOW"),
      `only ALLOW rows: ${other}`,
    );
    if (!other.length) await page.getByRole("heading", { name: "No entries match these filters" }).waitFor();
    await page.getByLabel("Decision", { exact: true }).selectOption("DENY");
    await deny.waitFor();
    // The agent filter lists the instance's agents by slug.
    await page.getByLabel("Agent", { exact: true }).selectOption(slug);
    await deny.waitFor();
    await page.getByRole("button", { name: "Refresh" }).click();
    await deny.waitFor();
  });

  await t.test("another user gets 404 for this instance's gate audit", async () => {
    const b = await new Api(base).as(`b-${Date.now()}@example.com`);
    const r = await b.call("GET", `/api/v1/instances/${id}/gate-audit`);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "not_found");
    const h = await b.call("GET", "/api/v1/credits/history?hours=24");
    assert.equal(h.status, 200);
    assert.equal(h.json.total, 0, "B sees none of A's charges");
  });

  await t.test("Credits: real meter charges for the past hour → the SVG burn chart, balance, burn rate and forecast", async () => {
    // The instance "started" an hour ago: the real meter settles its 12 past windows at 12 cr/hr.
    await server.database.pool.query("UPDATE instances SET started_at = now() - interval '1 hour', metered_until = NULL WHERE id = $1", [id]);
    const tick = await meterTick(server.database.pool, { rates: loadRates(ratesFile) });
    // Windows the server's own meter already charged since the real start are not charged again.
    assert.ok(tick.computeRows >= 1, `the meter charged the past windows: ${JSON.stringify(tick)}`);
    const hist = await apiCall("GET", "/api/v1/credits/history?hours=24");
    assert.equal(hist.status, 200);
    assert.equal(hist.json.windows.length, 24 * 12, "every window of 24 hours, zero-filled");
    const charged = hist.json.windows.filter((w: { credits: number }) => w.credits > 0);
    assert.ok(charged.length >= 12);
    assert.ok(
      charged.every((w: { creditsPerHour: number }) => w.creditsPerHour > 0 && w.creditsPerHour <= 12),
      "at most 12 cr/hr (pro rata at the edges)",
    );
    const usage = (await apiCall("GET", "/api/v1/credits/usage")).json;
    assert.equal(usage.burnRate, 12);
    assert.ok(usage.balance < 1000 && usage.balance > 980, `balance ${usage.balance}`);

    await page.goto(`${base}/credits`);
    const chart = page.getByTestId("burn-chart");
    await chart.waitFor();
    assert.equal(await chart.getAttribute("role"), "img");
    assert.match((await chart.getAttribute("aria-label")) ?? "", /credits charged in \d+ of 288 five-minute windows; peak 12 cr\/hr/);
    const bars = await chart.locator("rect.bar").count();
    assert.equal(bars, charged.length, "one bar per charged window");
    assert.match((await chart.textContent()) ?? "", /credits \/ hour/);
    const balance = (await page.getByTestId("balance").textContent()) ?? "";
    assert.match(balance, new RegExp(usage.balance.toLocaleString("en-US", { maximumFractionDigits: 1 }).replace(/\./g, "\\.")));
    assert.match((await page.getByTestId("burn-rate").textContent()) ?? "", /12 cr\/hr/);
    assert.match((await page.getByTestId("runs-out").textContent()) ?? "", /in \d+(\.\d)? days/);
    // The numbers behind the chart, for screen readers and anyone who wants them.
    await page.getByText("Show the numbers").click();
    assert.ok((await page.locator(".credits-chart details tbody tr").count()) === charged.length);
    await page.getByText("Show the numbers").click();
    // The ledger shows the grant and the compute charges of this instance.
    const ledger = page.getByRole("region", { name: "Ledger" });
    await ledger.getByText("test credits").waitFor();
    assert.ok((await ledger.getByRole("cell", { name: "Compute" }).count()) >= 12);
    // Purchases are off on this Tropic: said so, no buttons.
    await page.getByText("Purchases are not enabled on this Tropic").waitFor();
    assert.equal(await page.getByRole("button", { name: /^Buy / }).count(), 0);
    await s.shot("credits");

    phone = await openBrowser({ width: 390, height: 844 });
    await phone.context.addCookies(await s.context.cookies());
    await phone.page.goto(`${base}/credits`);
    await phone.page.getByTestId("burn-chart").waitFor();
    await phone.shot("credits-phone");
    const wide = await phone.page.evaluate(() =>
      [...document.querySelectorAll("body *")]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !el.closest(".table-wrap, .topbar nav"))
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
    );
    assert.deepEqual(wide, [], "nothing sticks out at 390 px (tables and the navigation scroll inside their box)");
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling of the page at 390 px (${overflow} px)`);
  });

  await t.test("a stopped instance: 409 from the API, and the Audit page says to start it", async () => {
    const stop = await apiCall("POST", `/api/v1/instances/${id}/stop`);
    assert.equal(stop.status, 202);
    await until(`/api/v1/instances/${id}`, (j) => j.state === "stopped", 60_000, "instance stopped");
    const r = await apiCall("GET", `/api/v1/instances/${id}/gate-audit`);
    assert.equal(r.status, 409);
    assert.equal(r.json.error.message, "the instance is not running; start it to read its audit log");
    await page.goto(`${base}/audit?instance=${id}`);
    await page.getByText("start it on the Agents page to read its log").waitFor();
  });

  const problems = [...s.problems, ...(phone?.problems ?? [])].filter((p) => !/401/.test(p));
  assert.deepEqual(problems, [], "no console errors or failed requests");
});
