// The Agents, Marketplace and Chat pages against a real control plane with one real local instance
// (a sandboxed OpenClaw gateway) and a scripted model: add an instance from the Agents page and
// watch it reach Running, deploy an agent from the Marketplace with a policy and see it Ready,
// change its policy with the shield, open Chat (the Control UI in an iframe, its WebSocket through
// /i/<id>), stop the instance, and see the 5-agents limit from the API next to the Instance field.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ScriptedModel } from "../../plugin/test/model-server.ts";
import { destroyAll, freshDataDir, inProcessServer, removeDir, sleep, standInInternet } from "../../server/test/instances-harness.ts";
import { ARTIFACTS, CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

test("Agents, Marketplace and Chat in a browser: instance → Running, deploy with a policy → Ready, shield, Control UI in Chat, 5-agents limit", {
  timeout: 300_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`,
}, async (t) => {
  const model = new ScriptedModel();
  await model.start();
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  const s = await openBrowser();
  t.after(async () => {
    await s.close().catch(() => {});
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
    await model.stop();
  });
  const { page } = s;
  const base = server.url;
  await signUpInBrowser(page, base, `agents-${Date.now()}@example.com`);

  // The browser's own session (same cookie jar) for the setup the test keeps independent of other pages.
  const apiCall = async (method: string, path: string, data?: unknown) => {
    const r = await page.request.fetch(`${base}${path}`, { method, ...(data !== undefined ? { data } : {}) });
    const text = await r.text();
    return { status: r.status(), json: text ? JSON.parse(text) : null };
  };
  const set = await apiCall("PATCH", "/api/v1/settings", {
    model: "custom",
    // (the model is on "the internet": the sandbox reaches nothing on this machine)
    customModel: { provider: "scripted", modelId: "scripted", baseUrl: `${await (await standInInternet()).expose(model.port)}/v1` },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const writer = await apiCall("POST", "/api/v1/policies", {
    name: "Writer rules",
    text: "ALLOW: browse any public website\nDENY: run sudo or elevated commands\n",
  });
  assert.equal(writer.status, 201, JSON.stringify(writer.json));
  const strict = await apiCall("POST", "/api/v1/policies", {
    name: "Strict",
    text: "DENY: run sudo or elevated commands\nDENY: outbound connections on port 22\n",
  });
  assert.equal(strict.status, 201, JSON.stringify(strict.json));

  // Empty state → Add instance (a dialog with one field) → the card reaches Running.
  await page.reload();
  await page.getByRole("heading", { name: "No instances yet" }).waitFor();
  await s.shot("agents-empty");
  await page.getByRole("button", { name: "Add instance" }).first().click();
  const add = page.getByRole("dialog", { name: "Add instance" });
  assert.equal(await add.getByLabel("Name").evaluate((el) => el === document.activeElement), true, "focus starts in the form");
  await add.getByLabel("Name").fill("home");
  await page.screenshot({ path: join(ARTIFACTS, "web-agents-add.png") });
  await add.getByRole("button", { name: "Create instance" }).click();
  const card = page.getByRole("region", { name: "home", exact: true });
  await card.waitFor();
  assert.equal(await card.locator("dd").first().textContent(), "This machine");
  const badge = card.locator(".spread > .badge").first();
  const t0 = Date.now();
  await badge.and(page.locator('[data-state="running"]')).waitFor({ timeout: 180_000 });
  const startSecs = Math.round((Date.now() - t0) / 1000);
  assert.equal(await badge.textContent(), "Running");
  await card.getByText("No agents yet.").waitFor();
  const instanceId = (await card.getAttribute("data-instance"))!;

  // Marketplace → Deploy Content Writer with the custom model and a policy → Agents shows it Ready.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Marketplace" }).click();
  await page.getByRole("button", { name: "Deploy Content Writer" }).waitFor();
  await s.shot("marketplace");
  await page.getByRole("button", { name: "Deploy Content Writer" }).click();
  const deploy = page.getByRole("dialog", { name: "Deploy Content Writer" });
  await deploy.getByLabel("Instance").waitFor();
  assert.equal(await deploy.getByLabel("Model").inputValue(), "scripted/scripted", "the user's custom model is preselected");
  await deploy.getByLabel("Name").fill("Blog writer");
  await deploy.getByLabel("Policy").selectOption({ label: "Writer rules" });
  await deploy.getByRole("button", { name: "Deploy agent" }).click();
  await page.waitForURL(/\/agents\?deployed=/);
  await page.getByText("Agent “Blog writer” deployed").waitFor();
  const row = page.locator("li.agent", { hasText: "Blog writer" });
  await row.waitFor();
  await row.locator('.badge[data-state="ready"]').waitFor({ timeout: 120_000 });
  await row.getByText("Policy: Writer rules").waitFor();
  await row.getByText("scripted/scripted").waitFor();

  // The shield: change the policy to "Strict".
  await row.getByRole("button", { name: "Change policy for Blog writer" }).click();
  const pd = page.getByRole("dialog", { name: "Policy for Blog writer" });
  await pd.getByRole("radio", { name: /Strict/ }).check();
  await pd.getByRole("button", { name: "Save policy" }).click();
  await pd.waitFor({ state: "detached" });
  await row.getByText("Policy: Strict").waitFor();
  const agents = (await apiCall("GET", `/api/v1/agents?instanceId=${instanceId}`)).json.items;
  assert.equal(agents.length, 1);
  assert.equal(agents[0].policyId, strict.json.id, "the shield saved the policy");
  await row.locator('.badge[data-state="ready"]').waitFor({ timeout: 60_000 });

  // Skills drawer: the catalog with each skill's credential fields; a credential error shows at its field.
  await card.getByRole("button", { name: "Skills on home" }).click();
  const drawer = page.getByRole("dialog", { name: "Skills on home" });
  await drawer.getByRole("button", { name: "Install Brave Search" }).click();
  await drawer.getByLabel("Brave Search API key").fill("no");
  await drawer.getByRole("button", { name: "Confirm install" }).click();
  await drawer.locator(".field-error").waitFor();
  assert.match((await drawer.locator(".field-error").textContent()) ?? "", /\S/, "the API's message for credentials.BRAVE_API_KEY");
  await s.shot("agents-skills");
  await page.keyboard.press("Escape");
  await drawer.waitFor({ state: "detached" });
  await page.mouse.move(0, 0);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await s.shot("agents");

  // Phone width: the same page at 390 px.
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(300);
  await s.shot("agents-phone");
  await page.setViewportSize({ width: 1280, height: 860 });

  // Chat: the Control UI in an iframe at /i/<id>/ (handed over to the instance's own origin), its
  // WebSocket through the proxy.
  const sockets: { url: string; hello: Promise<boolean> }[] = [];
  page.on("websocket", (ws) => {
    sockets.push({
      url: ws.url(),
      hello: new Promise((resolve) => {
        ws.on("framereceived", (f) => String(f.payload).includes('"hello-ok"') && resolve(true));
        ws.on("close", () => resolve(false));
      }),
    });
  });
  await card.getByRole("link", { name: "Chat" }).click();
  await page.waitForURL(`${base}/chat/${instanceId}`);
  const iframe = page.locator("iframe.chat-frame");
  assert.equal(await iframe.getAttribute("src"), `/i/${instanceId}/`);
  assert.equal(await iframe.getAttribute("title"), "OpenClaw chat on home");
  await page.getByText("send stop", { exact: false }).waitFor();
  const frame = page.frameLocator("iframe.chat-frame");
  await frame.locator("openclaw-app").waitFor({ state: "attached", timeout: 60_000 });
  const deadline = Date.now() + 60_000;
  while (!sockets.length && Date.now() < deadline) await sleep(200);
  assert.ok(sockets.length, "the Control UI opened a WebSocket");
  assert.equal(new URL(sockets[0]!.url).pathname.replace(/\/$/, ""), `/i/${instanceId}`, "through the proxy");
  assert.equal(new URL(sockets[0]!.url).hostname, `${instanceId}.localhost`, "on the instance's own origin");
  assert.equal(await Promise.race([sockets[0]!.hello, sleep(60_000).then(() => false)]), true, "the gateway accepted the injected token");
  const framed = page.frames().find((f) => f.url().includes(`/i/${instanceId}`));
  assert.match((await framed?.title()) ?? "", /OpenClaw/, "the Control UI is the framed document");
  await sleep(2000);
  await s.shot("chat");

  // The card's SSH key link downloads the user's private key as tropic-vm-key.pem.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Agents" }).click();
  const [download] = await Promise.all([page.waitForEvent("download"), card.getByRole("link", { name: "Download SSH key" }).click()]);
  assert.equal(download.suggestedFilename(), "tropic-vm-key.pem");
  assert.match(readFileSync((await download.path())!, "utf8"), /BEGIN OPENSSH PRIVATE KEY/);

  // Skills: install Weather (no credentials) → Installed once the instance applied it; disable; uninstall.
  await card.getByRole("button", { name: "Skills on home" }).click();
  const skills = page.getByRole("dialog", { name: "Skills on home" });
  await skills.getByRole("button", { name: "Install Weather" }).click();
  await skills.getByText("No credentials needed.").waitFor();
  await skills.getByRole("button", { name: "Confirm install" }).click();
  const weather = skills.locator('li[data-skill="weather"]');
  await weather.locator('.badge[data-state="installed"]').waitFor({ timeout: 90_000 });
  await weather.getByRole("button", { name: "Disable Weather" }).click();
  await weather.getByText("Disabled").waitFor();
  await weather.getByRole("button", { name: "Enable Weather" }).waitFor();
  const installs = (await apiCall("GET", `/api/v1/instances/${instanceId}/skills`)).json.items;
  assert.deepEqual(
    installs.map((x: { skillSlug: string; enabled: boolean }) => [x.skillSlug, x.enabled]),
    [["weather", false]],
  );
  await weather.getByRole("button", { name: "Uninstall" }).click();
  await weather.getByRole("button", { name: "Install Weather" }).waitFor();
  assert.equal((await apiCall("GET", `/api/v1/instances/${instanceId}/skills`)).json.items.length, 0);
  await page.keyboard.press("Escape");
  await badge.and(page.locator('[data-state="running"]')).waitFor({ timeout: 90_000 });

  // Stop from the card → Stopped; Chat then says the instance is not running.
  await card.getByRole("button", { name: "Stop", exact: true }).click();
  await badge.and(page.locator('[data-state="stopped"]')).waitFor({ timeout: 90_000 });
  await card.getByRole("button", { name: "Start", exact: true }).waitFor();
  await page.goto(`${base}/chat/${instanceId}`);
  await page.getByRole("heading", { name: "home is not running" }).waitFor();

  // The 5-agents limit: four more through the API (queued while stopped), the sixth from the form.
  for (let i = 2; i <= 5; i++) {
    const r = await apiCall("POST", "/api/v1/agents", { instanceId, templateId: "content-writer", name: `Writer ${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  await page.goto(`${base}/marketplace`);
  await page.getByRole("button", { name: "Deploy Content Writer" }).click();
  const sixth = page.getByRole("dialog", { name: "Deploy Content Writer" });
  await sixth.getByLabel("Name").fill("Writer 6");
  await sixth.getByRole("button", { name: "Deploy agent" }).click();
  const limit = sixth.locator(".field-error");
  await limit.waitFor();
  assert.match((await limit.textContent()) ?? "", /already runs 5 agents/);
  assert.match((await sixth.getByLabel("Instance").getAttribute("aria-describedby")) ?? "", new RegExp(`${await limit.getAttribute("id")}`));
  await page.screenshot({ path: join(ARTIFACTS, "web-marketplace-limit.png") });

  // 401 from /me while signed out, and the 400/409 answers this test provokes on purpose.
  const problems = s.problems.filter((p) => !/status of (400|401|409)|401 \(Unauthorized\)/.test(p));
  assert.deepEqual(problems, [], "no console errors");
  console.log(`instance running after ${startSecs} s in the browser`);
});
