// The gate's switch in a browser (issue 19) against a real control plane with one real local instance
// (its agent and a sandboxed OpenClaw gateway with the gate): the Skills drawer's first entry is
// Sondera with its packs; turning it off asks for confirmation (Cancel changes nothing), then the card
// shows "Gate off" once the instance's agent reports that its gateway runs without the gate (and
// openclaw.json says so); turning it on again applies without a dialog and the card's line goes.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { destroyAll, freshDataDir, inProcessServer, instanceFiles, removeDir, sleep } from "../../server/test/instances-harness.ts";
import { CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

test("Gate switch in a browser: Sondera first in Skills, packs, off asks for confirmation, card shows Gate off, on again", {
  timeout: 300_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`,
}, async (t) => {
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  const s = await openBrowser();
  t.after(async () => {
    await s.close().catch(() => {});
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const { page } = s;
  const base = server.url;
  await signUpInBrowser(page, base, `gate-${Date.now()}@example.com`);
  const apiCall = async (method: string, path: string, data?: unknown) => {
    const r = await page.request.fetch(`${base}${path}`, { method, ...(data !== undefined ? { data } : {}) });
    const text = await r.text();
    return { status: r.status(), json: text ? JSON.parse(text) : null };
  };
  const created = await apiCall("POST", "/api/v1/instances", { name: "home" });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = created.json.id as string;
  const files = instanceFiles(dataDir, id);
  const gateOf = async () => {
    const r = await apiCall("GET", `/api/v1/instances/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.gate, JSON.stringify(r.json));
    return r.json.gate;
  };

  await page.goto(`${base}/agents`);
  const card = page.getByRole("region", { name: "home", exact: true });
  await card.locator('.spread > .badge[data-state="running"]').waitFor({ timeout: 180_000 });
  // what the instance's agent read from its gateway: on, base only
  for (let i = 0; !(await gateOf()).observed; i++) {
    assert.ok(i < 150, "the agent reports the gate");
    await sleep(200);
  }
  assert.deepEqual((await gateOf()).observed, { enabled: true, packs: { base: true, system: false, owasp: false } });
  assert.equal(await card.getByTestId("gate-off").count(), 0);

  // Skills: Sondera is the first entry, on, with its packs (base fixed on while the gate is on).
  await card.getByRole("button", { name: "Skills on home" }).click();
  const drawer = page.getByRole("dialog", { name: "Skills on home" });
  const entry = drawer.locator("[data-skill]").first();
  assert.equal(await entry.getAttribute("data-skill"), "sondera");
  const sw = entry.getByRole("switch", { name: "Sondera gate" });
  assert.equal(await sw.getAttribute("aria-checked"), "true");
  await entry.getByTestId("gate-status").filter({ hasText: "On: every tool call is checked" }).waitFor();
  assert.equal(await entry.getByRole("checkbox", { name: /Base/ }).isDisabled(), true);
  assert.equal(await entry.getByRole("checkbox", { name: /OWASP/ }).isChecked(), false);
  await s.shot("gate-drawer-on");

  // Off asks first: Cancel changes nothing.
  await sw.click();
  const confirm = page.getByRole("alertdialog", { name: "Turn the gate off on home?" });
  await confirm.waitFor();
  await confirm.getByText(/unchecked by the gate/).waitFor();
  await s.shot("gate-confirm-off");
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await confirm.waitFor({ state: "detached" });
  assert.equal((await gateOf()).enabled, true, "cancel: still on");

  // Confirmed: the gateway runs without the gate; the card says so.
  await sw.click();
  const t0 = Date.now();
  await confirm.getByRole("button", { name: "Turn the gate off" }).click();
  await entry.getByTestId("gate-status").filter({ hasText: "Off: tool calls are not checked" }).waitFor({ timeout: 60_000 });
  const offSecs = ((Date.now() - t0) / 1000).toFixed(1);
  assert.equal(await sw.getAttribute("aria-checked"), "false");
  assert.equal(files.config().plugins.entries["tropic-gate"].config.enabled, false, "openclaw.json has it");
  assert.deepEqual((await gateOf()).observed?.enabled, false);
  await drawer.getByRole("button", { name: "Close" }).click();
  await card.getByTestId("gate-off").getByText("Gate off").waitFor({ timeout: 30_000 });
  // the host audit that follows the switch reports it: CRIT gate.enabled
  for (let i = 0; ; i++) {
    const p = (await apiCall("GET", `/api/v1/instances/${id}/posture`)).json;
    const f = p?.report?.findings?.find((x: { id: string }) => x.id === "gate.enabled");
    if (f) {
      assert.equal(f.severity, "CRIT");
      break;
    }
    assert.ok(i < 300, `the audit after the switch reports the gate off; last: ${JSON.stringify(p?.kind)} ${p?.at}`);
    await sleep(200);
  }
  await s.shot("gate-card-off");

  // On again: no dialog, applied at once, the card's line goes.
  await card.getByRole("button", { name: "Skills on home" }).click();
  const t1 = Date.now();
  await drawer.getByRole("switch", { name: "Sondera gate" }).click();
  assert.equal(await page.getByRole("alertdialog").count(), 0, "turning it on asks nothing");
  await drawer.getByTestId("gate-status").filter({ hasText: "On: every tool call is checked" }).waitFor({ timeout: 60_000 });
  const onSecs = ((Date.now() - t1) / 1000).toFixed(1);
  assert.equal(files.config().plugins.entries["tropic-gate"].config.enabled, true);
  // a pack: OWASP on
  await drawer.getByRole("checkbox", { name: /OWASP/ }).click();
  await drawer.getByRole("checkbox", { name: /OWASP/, checked: true }).waitFor();
  await drawer.getByTestId("gate-status").filter({ hasText: "On: every tool call is checked" }).waitFor({ timeout: 60_000 });
  for (let i = 0; !(await gateOf()).observed?.packs.owasp; i++) {
    assert.ok(i < 150, "the gateway runs the OWASP pack");
    await sleep(200);
  }
  assert.equal(files.config().plugins.entries["tropic-gate"].config.packs.owasp, true);
  await drawer.getByRole("button", { name: "Close" }).click();
  await card.getByTestId("gate-off").waitFor({ state: "detached", timeout: 30_000 });
  // the audit log has the switch
  const events = await apiCall("GET", "/api/v1/audit-events");
  if (events.status === 200) assert.ok(JSON.stringify(events.json).includes("gate.disable"));
  process.stderr.write(`# gate switch in the browser: off shown after ${offSecs} s, on after ${onSecs} s\n`);
});
