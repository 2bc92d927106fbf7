// The Policies and Settings pages in Chromium against a real control plane (no running instance:
// TROPIC_INSTANCES off). A person signs up, writes a policy with one bad line and sees the error on
// that line, fixes it, saves it and attaches it to an agent; then changes each Settings section,
// sees the browser's and the server's errors on their fields, reloads and finds what was saved,
// and stores a Claude API key of which only the last 4 characters come back.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RunningServer } from "../../server/src/server.ts";
import { dashboardServer, freshDataDir, removeDir } from "../../server/test/instances-harness.ts";
import type { Locator } from "playwright-core";
import { type BrowserSession, openBrowser, signUpInBrowser } from "./browser.ts";

let server: RunningServer;
let dataDir: string;
let b: BrowserSession;

before(async () => {
  dataDir = freshDataDir();
  server = await dashboardServer(dataDir);
  b = await openBrowser();
  await signUpInBrowser(b.page, server.url, "policies@example.com");
});

after(async () => {
  await b?.close();
  await server?.close();
  if (dataDir) removeDir(dataDir);
});

/** A locator's text ("" when it has none). */
const text = async (l: Locator) => (await l.textContent()) ?? "";

/** Console errors other than the expected 401 of GET /api/v1/me while signed out and the 400s a test provokes on purpose. */
const unexpected = () => b.problems.filter((p) => !/401|400 \(Bad Request\)/.test(p));

test("Policies: live validation marks the bad line, explains each rule, saves, lists and attaches the policy", async () => {
  const { page } = b;
  // An agent to attach the policy to (the instance is never started: TROPIC_INSTANCES is off).
  const inst = await page.request.post(`${server.url}/api/v1/instances`, { data: { name: "home", provider: "local" } });
  assert.equal(inst.status(), 201, await inst.text());
  const agent = await page.request.post(`${server.url}/api/v1/agents`, {
    data: { instanceId: (await inst.json()).id, templateId: "personal-assistant" },
  });
  assert.equal(agent.status(), 201, await agent.text());
  const agentId = (await agent.json()).id as string;

  await page.goto(`${server.url}/policies`);
  await page.getByRole("heading", { name: "No policies yet" }).waitFor();
  await page.getByRole("button", { name: "Start from the example policy" }).click();

  const rules = page.getByLabel("Rules");
  // The seed's example compiles as is: eight rules, each explained.
  await page.getByText("8 rules, all understood").waitFor();
  assert.equal(await page.locator(".rule-item").count(), 8);

  // One bad line between valid ones: the error is on line 2, in the gutter and as "line 2: …".
  await rules.fill("ALLOW: browse any public website\nALLOW: fly to the moon\nDENY: run sudo or elevated commands");
  await page.locator('.le-num.bad[data-line="2"]').waitFor();
  assert.equal(await page.locator(".le-num.bad").count(), 1, "only line 2 is marked");
  const errors = page.locator(".line-errors");
  assert.match(await text(errors), /^line 2: /);
  assert.equal(await rules.getAttribute("aria-invalid"), "true");
  const describedBy = (await rules.getAttribute("aria-describedby")) ?? "";
  assert.ok(describedBy.split(" ").includes((await errors.getAttribute("id")) ?? "-"), "the textarea is described by the error list");
  await page.getByLabel("Name").fill("Safe browsing");
  await b.shot("policies");

  // Saving anyway is refused by the server, with the same line error.
  const refused = page.waitForResponse((r) => r.url().endsWith("/api/v1/policies") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Save policy" }).click();
  assert.equal((await refused).status(), 400);
  assert.match(await text(errors), /line 2: /);

  // Fix line 2: no errors, and the explanation of each rule under the editor.
  await rules.fill("ALLOW: browse any public website\nREQUIRE CONFIRM: send WhatsApp messages\nDENY: run sudo or elevated commands");
  await page.getByText("3 rules, all understood").waitFor();
  assert.equal(await page.locator(".le-num.bad").count(), 0);
  assert.equal(await rules.getAttribute("aria-invalid"), "false");
  const sudo = page.locator('.rule-item[data-line="3"]');
  assert.match(await text(sudo.locator(".effect")), /DENY/);
  assert.ok((await text(sudo.locator(".rule-explain"))).trim().length > 10, "rule 3 has its explanation");

  await page.getByRole("button", { name: "Save policy" }).click();
  await page.getByText('Saved "Safe browsing"').waitFor();
  const listed = page.getByRole("navigation", { name: "Your policies" });
  await listed.getByText("Safe browsing").waitFor();
  assert.match(await text(listed), /3 rules · v1 · 0 agents/);
  const saved = await (await page.request.get(`${server.url}/api/v1/policies`)).json();
  assert.equal(saved.items.length, 1);
  assert.equal(saved.items[0].rules.length, 3);

  // Attach it to the agent.
  const attach = page.getByRole("region", { name: "Attach to agents" });
  await attach.getByRole("button", { name: "Use this policy" }).click();
  await attach.getByText("Saved").waitFor();
  const a = await (await page.request.get(`${server.url}/api/v1/agents/${agentId}`)).json();
  assert.equal(a.policyId, saved.items[0].id);
  await attach.getByText("Attached").waitFor();

  // Edit and save a new version; then delete with confirmation.
  await rules.fill("ALLOW: browse any public website\nDENY: run sudo or elevated commands");
  await page.getByText("2 rules, all understood").waitFor();
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.getByText("(version 2)").waitFor();
  await page.getByRole("button", { name: "Delete policy" }).click();
  const dialog = page.getByRole("alertdialog", { name: /Delete “Safe browsing”/ });
  await dialog.waitFor();
  await dialog.getByRole("button", { name: "Delete policy" }).click();
  await page.getByRole("heading", { name: "No policies yet" }).waitFor();
  assert.deepEqual(unexpected(), []);
});

test("Settings: blacklist, limits, phone patterns (browser and server errors on their fields), SSH allowlist, model, Claude key", async () => {
  const { page } = b;
  await page.goto(`${server.url}/settings`);
  await page.getByRole("heading", { name: "Command blacklist" }).waitFor();

  // Command blacklist: off by default; turn Code Execution on.
  const blacklist = page.getByRole("region", { name: "Command blacklist" });
  const code = blacklist.getByRole("switch", { name: /Code Execution/ });
  assert.equal(await code.isChecked(), false);
  assert.equal(await blacklist.getByRole("switch", { name: /Browser Search/ }).isChecked(), false);
  await code.check();
  await blacklist.getByRole("button", { name: "Save" }).click();
  await blacklist.getByText("✓ Saved").waitFor();

  // Limits: a cap the server refuses shows its message on the field; then a good one.
  const limits = page.getByRole("region", { name: "Spending and runtime limits" });
  const cap = limits.getByLabel("Daily credit cap");
  await cap.fill("0");
  await limits.getByRole("button", { name: "Save" }).click();
  await limits.getByText("must be at least 1").waitFor();
  assert.equal(await cap.getAttribute("aria-invalid"), "true");
  await cap.fill("500");
  await limits.getByLabel("Max session runtime (minutes)").fill("120");
  await limits.getByRole("button", { name: "Save" }).click();
  await limits.getByText("✓ Saved").waitFor();

  // Phone numbers: a bad pattern is flagged while typing, before any save.
  const phones = page.getByRole("region", { name: "Restrict phone numbers" });
  await phones.getByRole("radio", { name: /Allowlist/ }).check();
  await phones.getByText("you probably want to add your own number first").waitFor();
  const patterns = phones.getByRole("textbox", { name: "Patterns", exact: true });
  let patched = 0;
  page.on("request", (r) => {
    if (r.method() === "PATCH" && r.url().endsWith("/api/v1/settings")) patched++;
  });
  await patterns.fill("+6591234567\n65*");
  await phones.getByText('line 2: "65*" is not an E.164 pattern').waitFor();
  assert.equal(await patterns.getAttribute("aria-invalid"), "true");
  assert.equal(await phones.locator('.le-num.bad[data-line="2"]').count(), 1);
  assert.ok(await phones.getByRole("button", { name: "Save" }).isDisabled(), "a bad pattern cannot be saved");
  assert.equal(patched, 0, "the error came from the browser, before saving");
  await patterns.fill("+6591234567\n+65*\n+44*");
  assert.equal(await patterns.getAttribute("aria-invalid"), "false");
  await phones.getByRole("button", { name: "Save" }).click();
  await phones.getByText("✓ Saved").waitFor();

  // SSH allowlist: the server's error lands on the entry it names (sshAllowlist.1 → line 2).
  const ssh = page.getByRole("region", { name: "SSH access" });
  const allow = ssh.getByLabel("Allowed IP addresses and CIDR blocks");
  await allow.fill("203.0.113.7\n300.1.2.3/8");
  await ssh.getByRole("button", { name: "Save" }).click();
  await ssh.getByText('line 2: "300.1.2.3/8" is not an IPv4/IPv6 address or CIDR block').waitFor();
  assert.equal(await ssh.locator('.le-num.bad[data-line="2"]').count(), 1);
  assert.equal(await allow.getAttribute("aria-invalid"), "true");
  await allow.fill("203.0.113.7\n198.51.100.0/24");
  await ssh.getByLabel("Key rotation period").selectOption("30");
  await ssh.getByRole("button", { name: "Save" }).click();
  await ssh.getByText("✓ Saved").waitFor();
  await ssh.locator("dd", { hasText: "(every 30 days)" }).waitFor();
  assert.match(await text(ssh.getByTestId("ssh-fingerprint")), /^SHA256:/);
  assert.equal(await ssh.getByRole("link", { name: "Download SSH key" }).getAttribute("href"), "/api/v1/ssh-key/private");

  // Rotate now asks first and says the old key stops working.
  const before = await text(ssh.getByTestId("ssh-fingerprint"));
  await ssh.getByRole("button", { name: "Rotate now" }).click();
  const rotate = page.getByRole("alertdialog", { name: "Rotate your SSH key now?" });
  assert.match(await text(rotate), /old private key stops working/);
  await rotate.getByRole("button", { name: "Rotate key" }).click();
  await ssh.getByText("the old key no longer works").waitFor();
  assert.notEqual(await text(ssh.getByTestId("ssh-fingerprint")), before);

  // Model: a custom provider + model id.
  const model = page.getByRole("region", { name: "Model" });
  await model.getByRole("radio", { name: /Claude Haiku 4.5/ }).check();
  await model.getByRole("button", { name: "Save" }).click();
  await model.getByText("✓ Saved").waitFor();

  // Reload: everything saved is there.
  await page.reload();
  await page.getByRole("heading", { name: "Command blacklist" }).waitFor();
  assert.equal(await page.getByRole("switch", { name: /Code Execution/ }).isChecked(), true);
  assert.equal(await page.getByRole("switch", { name: /OS Commands/ }).isChecked(), false);
  assert.equal(await page.getByLabel("Daily credit cap").inputValue(), "500");
  assert.equal(await page.getByLabel("Max session runtime (minutes)").inputValue(), "120");
  assert.equal(await page.getByRole("radio", { name: /Allowlist/ }).isChecked(), true);
  assert.equal(await page.getByRole("textbox", { name: "Patterns", exact: true }).inputValue(), "+6591234567\n+65*\n+44*");
  assert.equal(await page.getByLabel("Allowed IP addresses and CIDR blocks").inputValue(), "203.0.113.7/32\n198.51.100.0/24");
  assert.equal(await page.getByLabel("Key rotation period").inputValue(), "30");
  assert.equal(await page.getByRole("radio", { name: /Claude Haiku 4.5/ }).isChecked(), true);
  const s = await (await page.request.get(`${server.url}/api/v1/settings`)).json();
  assert.equal(s.blockCodeExecution, true);
  assert.equal(s.dailyCreditCap, 500);
  assert.deepEqual(s.phonePatterns, ["+6591234567", "+65*", "+44*"]);

  // Claude API key: write-only, only its last 4 characters come back.
  const key = "sk-ant-api03-test-0123456789-wxyz";
  const creds = page.getByRole("region", { name: "Credentials" });
  await creds.getByLabel("Claude API key").fill(key);
  await creds.getByRole("button", { name: "Save key" }).click();
  await creds.getByText("✓ Saved").waitFor();
  await page.reload();
  const status = page.getByTestId("claude-key-status");
  await status.getByText("…wxyz").waitFor();
  assert.equal(await page.getByLabel("Replace Claude API key").inputValue(), "");
  const html = await page.content();
  assert.ok(!html.includes("0123456789"), "the key itself is never in the page");
  assert.equal(await page.getByLabel("Replace Claude API key").getAttribute("type"), "password");
  await b.shot("settings");
  assert.deepEqual(unexpected(), []);
});

test("Settings at phone width (390 px)", async () => {
  const phone = await openBrowser({ width: 390, height: 844 });
  try {
    await signUpInBrowser(phone.page, server.url, "phone@example.com");
    await phone.page.goto(`${server.url}/settings`);
    await phone.page.getByRole("heading", { name: "Restrict phone numbers" }).waitFor();
    await phone.page.getByRole("heading", { name: "Your SSH key" }).waitFor();
    // Nothing wider than the screen.
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `page is ${width} px wide`);
    await phone.shot("settings-phone");
    await phone.page.goto(`${server.url}/policies`);
    await phone.page.getByRole("heading", { name: "No policies yet" }).waitFor();
    await phone.page.getByRole("button", { name: "Start from the example policy" }).click();
    await phone.page.getByText("8 rules, all understood").waitFor();
    assert.ok((await phone.page.evaluate(() => document.documentElement.scrollWidth)) <= 390);
    await phone.shot("policies-phone");
    assert.deepEqual(
      phone.problems.filter((p) => !/401/.test(p)),
      [],
    );
  } finally {
    await phone.close();
  }
});
