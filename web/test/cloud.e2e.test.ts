// Add Instance → Cloud in a browser: without AWS configured the option says what the server must set
// (and cannot be submitted); with it, region and type (each type with its credits per hour), and the
// card shows the region, the type and the credits. (No VM: the control plane records desired state.)
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { testAwsSettings } from "../../providers/test/aws-world.MOCK.ts";
import { testApp } from "../../server/test/harness.ts";
import { CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

const AWS = testAwsSettings();

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`;

test("Add Instance → Cloud without AWS configured says what to set", { timeout: 120_000, skip }, async (t) => {
  const h = await testApp("pglite");
  const base = (await h.app.listen({ port: 0, host: "127.0.0.1" })).replace("[::1]", "127.0.0.1");
  const s = await openBrowser();
  t.after(async () => {
    await s.close().catch(() => {});
    await h.close();
  });
  const { page } = s;
  await signUpInBrowser(page, base, `cloud-off-${Date.now()}@example.com`);
  await page.getByRole("button", { name: "Add instance" }).first().click();
  await page.getByLabel("Name").fill("vm");
  await page.getByRole("radio", { name: /Cloud/ }).check();
  const banner = page.getByTestId("cloud-unavailable");
  await banner.waitFor();
  assert.match(
    (await banner.textContent()) ?? "",
    /Cloud \(AWS\) instances are not configured on this Tropic server: set TROPIC_AWS_INSTANCE_PROFILE, TROPIC_AWS_PROXY_CIDRS, TROPIC_PUBLIC_URL/,
  );
  assert.equal(await page.getByRole("button", { name: "Create instance" }).isDisabled(), true);
  await s.shot("cloud-not-configured");
  assert.deepEqual(
    s.problems.filter((p) => !p.includes("status of 401")),
    [],
  );
});

test("Add Instance → Cloud: region and type with credits per hour; the card shows them", { timeout: 120_000, skip }, async (t) => {
  // TROPIC_PUBLIC_URL is this server's own address (the origin the browser uses).
  const port = await freePort();
  const h = await testApp("pglite", { aws: AWS, publicUrl: `http://127.0.0.1:${port}` });
  const base = (await h.app.listen({ port, host: "127.0.0.1" })).replace("[::1]", "127.0.0.1");
  const s = await openBrowser();
  t.after(async () => {
    await s.close().catch(() => {});
    await h.close();
  });
  const { page } = s;
  await signUpInBrowser(page, base, `cloud-on-${Date.now()}@example.com`);
  await page.getByRole("button", { name: "Add instance" }).first().click();
  await page.getByLabel("Name").fill("london");
  await page.getByRole("radio", { name: /Cloud/ }).check();
  const region = page.getByLabel("Region");
  await region.waitFor();
  assert.deepEqual(await region.locator("option").allTextContents(), [
    "US East (N. Virginia) (us-east-1)",
    "Asia Pacific (Singapore) (ap-southeast-1)",
    "Europe (Ireland) (eu-west-1)",
    "Europe (London) (eu-west-2)",
  ]);
  const type = page.getByLabel("Type");
  assert.deepEqual(await type.locator("option").allTextContents(), [
    "t3.micro: 2 vCPU, 1 GB, 5 credits/h",
    "t3.small: 2 vCPU, 2 GB, 15 credits/h",
    "t3.medium: 2 vCPU, 4 GB, 30 credits/h",
  ]);
  assert.equal(await type.inputValue(), "t3.micro", "the default type");
  await region.selectOption("eu-west-2");
  await type.selectOption("t3.small");
  await s.shot("cloud-add-instance");
  await page.getByRole("button", { name: "Create instance" }).click();

  const card = page.locator("section.card.instance", { hasText: "london" });
  await card.waitFor();
  const facts = (await card.locator("dl.facts").textContent()) ?? "";
  for (const want of ["Cloud (AWS)", "eu-west-2", "t3.small", "15 credits/h"]) assert.ok(facts.includes(want), `${want} in ${facts}`);
  const { rows } = await h.database.pool.query("SELECT provider, region, instance_type FROM instances WHERE name = 'london'");
  assert.deepEqual(rows[0], { provider: "aws", region: "eu-west-2", instance_type: "t3.small" });
  // The VM's public address once it has one: the SSH command the seed gives.
  await h.database.pool.query(`UPDATE instances SET addresses = '{"publicIp": "198.51.100.20"}' WHERE name = 'london'`);
  await page.reload();
  await card.getByTestId("ssh-command").waitFor();
  assert.equal(await card.getByTestId("ssh-command").textContent(), "ssh -i tropic-vm-key.pem ubuntu@198.51.100.20");
  await s.shot("cloud-card");
  assert.deepEqual(
    s.problems.filter((p) => !p.includes("status of 401")),
    [],
  );
});
