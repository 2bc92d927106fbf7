// The platform's Claude key never reaches an instance (issue 14): a user without a key of their own,
// on a Tropic with a platform key, gets an instance whose .env holds its own model-proxy credential and
// whose OpenClaw calls Anthropic through the agent's tunnel and the control plane's model proxy, which
// alone holds the platform key (a MOCK Anthropic upstream stands in for Anthropic's servers). Real
// control plane, real sandboxed gateway in its own network namespace, real instance agent.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { GatewayClient } from "../../plugin/test/gateway-client.ts";
import { MockAnthropic } from "./anthropic-mock.ts";
import { chromium } from "playwright-core";
import {
  Api,
  CHROMIUM,
  CHROMIUM_ARGS,
  destroyAll,
  freshDataDir,
  gatewayInNamespace,
  inProcessServer,
  instanceFiles,
  removeDir,
  sleep,
} from "./instances-harness.ts";

const PLATFORM_KEY = `sk-ant-api03-PLATFORM-${"9f".repeat(24)}`;

/** Every file below `dir` (no links followed) whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesContaining(p, needle));
    else if (e.isFile() && statSync(p).size < 50_000_000 && readFileSync(p).includes(needle)) out.push(p);
  }
  return out;
}

/** The agent and its descendants, and every process of these users, whose environment or command line holds `needle`. */
function processesContaining(uids: number[], agentPid: number, needle: string): string[] {
  const kids = new Map<number, number[]>();
  const uidOf = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      uidOf.set(Number(d), Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]));
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {}
  }
  const tree = new Set<number>();
  for (const stack = [agentPid]; stack.length; ) {
    const p = stack.pop()!;
    tree.add(p);
    stack.push(...(kids.get(p) ?? []));
  }
  const out: string[] = [];
  for (const [pid, uid] of uidOf) {
    if (!tree.has(pid) && !uids.includes(uid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`);
      if (readFileSync(`/proc/${pid}/environ`).includes(needle) || cmd.includes(needle)) out.push(`${pid}: ${cmd.toString().replace(/\0/g, " ")}`);
    } catch {}
  }
  assert.ok(tree.size > 3, "the agent's process tree was found");
  return out;
}

test("the platform's key stays in the control plane: the instance calls Anthropic (MOCK) through its model-proxy credential", {
  timeout: 600_000,
}, async (t) => {
  const upstream = new MockAnthropic();
  await upstream.start();
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir, 2000, { platformAnthropicKey: PLATFORM_KEY, modelUpstream: upstream.url });
  t.after(async () => {
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
    await upstream.stop();
  });
  const email = `mp-${Date.now()}@example.com`;
  const a = await new Api(server.url).as(email);
  // The platform's key costs the model rate: credits to spend (else the meter pauses it at once).
  const me = (await a.call("GET", "/api/v1/me")).json;
  await server.database.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', $2, $3)", [
    me.id,
    1000 * 1000,
    `grant:${crypto.randomUUID()}`,
  ]);
  const inst = (await a.call("POST", "/api/v1/instances", { name: "proxied-model" })).json;
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "running");
  const f = instanceFiles(dataDir, inst.id);
  const envPath = join(f.state, ".env");
  for (const t0 = Date.now(); !/ANTHROPIC_API_KEY=tmk_[0-9a-f]{64}/.test(readFileSync(envPath, "utf8")); await sleep(250))
    assert.ok(Date.now() - t0 < 120_000, "the instance's own model-proxy credential in .env");
  assert.equal(
    f.config().models?.providers?.anthropic?.baseUrl,
    "http://127.0.0.1:18790",
    "OpenClaw's anthropic provider points at the agent's listener",
  );
  assert.equal(
    (await server.database.pool.query("SELECT uses_platform_key FROM instances WHERE id = $1", [inst.id])).rows[0].uses_platform_key,
    true,
  );

  // An agent turn on the default Claude model: through the tunnel to the model proxy, which calls the
  // MOCK with the platform key (and nothing of the instance's).
  const dep = await a.call("POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant" });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  await a.until(`/api/v1/agents/${dep.json.id}`, (j) => j.state === "ready", 120_000, "agent ready");
  assert.match(f.config().agents.entries[dep.json.slug].model, /^anthropic\//);
  const inside = await gatewayInNamespace(dataDir, inst.id);
  t.after(() => inside.close());
  const client = new GatewayClient(inside.port, f.config().gateway.auth.token);
  t.after(() => client.close());
  await client.connect();
  const sid = `mp-${Date.now().toString(36)}`;
  await client.call(
    "agent",
    { message: "Say hello.", agentId: dep.json.slug, sessionId: sid, channel: "webchat", idempotencyKey: sid },
    { final: true, timeoutMs: 120_000 },
  );
  const calls = upstream.seen.filter((s) => s.path.startsWith("/v1/messages"));
  assert.ok(calls.length >= 1, "the MOCK was called through the proxy");
  for (const c of calls) {
    assert.equal(c.headers["x-api-key"], PLATFORM_KEY, "the proxy called upstream with the platform key");
    assert.ok(!JSON.stringify(c.headers).includes("tmk_"), "the instance's credential does not go upstream");
  }
  const usage = await a.call("GET", `/api/v1/instances/${inst.id}/model-usage`);
  assert.equal(usage.status, 200, JSON.stringify(usage.json));
  assert.ok(usage.json.today.requests >= 1 && usage.json.today.inputTokens > 0, JSON.stringify(usage.json.today));

  // The dashboard shows those tokens beside the hourly rate (Credits page, in Chromium).
  if (existsSync(CHROMIUM)) {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    t.after(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${server.url}/signin`);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/agents`);
    await page.goto(`${server.url}/credits`);
    const card = page.locator("section", { has: page.getByRole("heading", { name: /Model tokens/ }) });
    await card.getByRole("cell", { name: "proxied-model" }).waitFor({ timeout: 15_000 });
    const row = card.getByRole("row", { name: /proxied-model/ });
    await row
      .getByText(`${usage.json.month.inputTokens.toLocaleString("en-US")} in`)
      .first()
      .waitFor({ timeout: 15_000 });
  }

  // The platform key is in no file of the instance (its home, the agent's files), and in no process
  // environment or command line of its users, its agent or the agent's children.
  assert.deepEqual(filesContaining(f.dir, PLATFORM_KEY), []);
  const inf = JSON.parse(readFileSync(join(f.dir, "instance.json"), "utf8"));
  assert.deepEqual(processesContaining([inf.uid, inf.agentUid], f.agentPid(), PLATFORM_KEY), []);
});
