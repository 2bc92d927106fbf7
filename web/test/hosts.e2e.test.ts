// Add Instance → Connect local machine in a browser (no real machine: the control plane records
// desired state, and the test plays the host's enrolment and its agent's reports at the API and in
// the database): the dialog's one-liner with its copy button and expiry, the card "Waiting for your
// machine…", then the host's details and connection, then offline with what that means.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { testApp } from "../../server/test/harness.ts";
import { CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

test("Connect local machine: one-liner dialog, waiting card, host details, offline", {
  timeout: 120_000,
  skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`,
}, async (t) => {
  const h = await testApp("pglite");
  const base = (await h.app.listen({ port: 0, host: "127.0.0.1" })).replace("[::1]", "127.0.0.1");
  const s = await openBrowser();
  t.after(async () => {
    await s.close().catch(() => {});
    await h.close();
  });
  const { page } = s;
  await s.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  await signUpInBrowser(page, base, `hosts-${Date.now()}@example.com`);

  await page.getByRole("button", { name: "Add instance" }).first().click();
  await page.getByLabel("Name").fill("my laptop");
  await page.getByRole("radio", { name: /Connect local machine/ }).check();
  await page.getByRole("button", { name: "Get the one-liner" }).click();
  const code = page.getByTestId("one-liner");
  await code.waitFor();
  const command = (await code.textContent()) ?? "";
  assert.match(command, new RegExp(`^curl -fsSL ${base.replace(/[.]/g, "\\.")}/install/host\\.sh \\| sh -s -- --token tet_[A-Za-z0-9_-]{43}$`));
  assert.ok(await page.getByText(/It works once, until .* \(15 minutes\)/).isVisible());
  await page.getByRole("button", { name: "Copy the command" }).click();
  await page.locator(".code-copy button", { hasText: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);
  await s.shot("hosts-one-liner");
  await page.getByRole("button", { name: "Done" }).click();

  const card = page.locator("section.card.instance", { hasText: "my laptop" });
  await card.getByTestId("host-waiting").waitFor();
  assert.match((await card.getByTestId("host-waiting").textContent()) ?? "", /Waiting for your machine…/);

  // The host enrols (what the installer sends) and its agent reports.
  const token = command.split("--token ")[1]!;
  const enrol = await fetch(`${base}/api/v1/hosts/enrol`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, host: { os: "darwin", arch: "arm64", hostname: "mbp", agentVersion: "0.1.0", openclawVersion: "2026.9.6" } }),
  });
  assert.equal(enrol.status, 200);
  const { instanceId } = (await enrol.json()) as { instanceId: string };
  await h.database.pool.query("UPDATE instances SET agent_seen_at = now() WHERE id = $1", [instanceId]);
  await page.reload();
  await card.getByTestId("host-connection").waitFor();
  assert.equal(await card.getByTestId("host-connection").textContent(), "connected");
  const facts = (await card.locator("dl.facts").textContent()) ?? "";
  for (const want of ["mbp (darwin arm64)", "agent 0.1.0, OpenClaw 2026.9.6", "ago"]) assert.ok(facts.includes(want), `${want} in ${facts}`);
  assert.equal(await card.getByTestId("host-waiting").count(), 0);
  await s.shot("hosts-connected");

  // Gone quiet: offline, and what happens to its commands.
  await h.database.pool.query("UPDATE instances SET agent_seen_at = now() - interval '10 minutes' WHERE id = $1", [instanceId]);
  await page.reload();
  await card.getByTestId("host-offline").waitFor();
  assert.equal(await card.getByTestId("host-offline").textContent(), "Your machine is offline: its commands wait until it is back.");
  assert.equal(await card.getByTestId("host-connection").textContent(), "offline");
  // (the sign-up page asks who is signed in first: that 401 is expected)
  assert.deepEqual(
    s.problems.filter((p) => !p.includes("status of 401")),
    [],
  );
});
