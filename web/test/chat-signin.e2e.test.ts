// A new user's first steps in Chromium, against a real control plane with instances off
// (TROPIC_INSTANCES=off): the instance is marked running in the database and its "gateway" is a
// stand-in page on 127.0.0.1, so no OpenClaw is started.
//  - Chat without any model key says so before OpenClaw's UI, links to Settings → Credentials (which
//    tells the truth: no platform key here), and still opens OpenClaw on request; a stored key or a
//    custom model opens it at once; with a platform key Settings says the instances use it.
//  - Credits at balance 0 with only a free local instance: nothing is charged, never "used up"; with
//    local compute priced, "used up" and paused at 0, and after a grant the run-out date.
//  - Marketplace and skills: SVG icons, no emoji.
//  - Signed out, /i/<id>/ lands on the sign-in page and, after signing in, back on /i/<id>/ (on the
//    instance's own origin, through the hand-off); a foreign
//    `next` is refused (server and page), a dashboard page is returned to as well.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { checkLimits, meterTick } from "../../server/src/credits/meter.ts";
import { mergeRates } from "../../server/src/credits/rates.ts";
import { sealJson } from "../../server/src/instances/tokens.ts";
import { LocalKek } from "../../server/src/secrets/envelope.ts";
import type { RunningServer } from "../../server/src/server.ts";
import { sha256Hex } from "../../server/src/lib/tokens.ts";
import { dashboardServer, freshDataDir, MASTER_KEY, removeDir } from "../../server/test/instances-harness.ts";
import { connectStandInAgent } from "../../server/test/stand-in-agent.ts";
import { type BrowserSession, CHROMIUM, openBrowser, signUpInBrowser } from "./browser.ts";

const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`;
const PASSWORD = "correct horse battery";
const STAND_IN_TITLE = "Stand-in Control UI";

async function standInGateway(): Promise<{ port: number; server: Server }> {
  const server = createServer((_req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end(`<!doctype html><html><head><title>${STAND_IN_TITLE}</title></head><body><h1>${STAND_IN_TITLE}</h1></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, server };
}

function start(dataDir: string, platformAnthropicKey?: string, ratesFile?: string): Promise<RunningServer> {
  return dashboardServer(dataDir, { platformAnthropicKey, ratesFile });
}

/**
 * An instance of the signed-in user, marked running, its gateway the stand-in page (if given), reached
 * as a real one is: through a (stand-in) instance agent's tunnel.
 */
async function runningInstance(server: RunningServer, page: Page, name: string, gatewayPort?: number): Promise<string> {
  const r = await page.request.post(`${server.url}/api/v1/instances`, { data: { name, provider: "local" } });
  assert.equal(r.status(), 201, await r.text());
  const id = (await r.json()).id as string;
  const token = await sealJson(new LocalKek(Buffer.from(MASTER_KEY, "hex")), "ab12".repeat(12));
  const agentToken = randomBytes(32).toString("hex");
  await server.database.pool.query(
    "UPDATE instances SET state = 'running', started_at = now(), addresses = $2, gateway_token_enc = $3, agent_token_hash = $4 WHERE id = $1",
    [id, gatewayPort ? { gateway: `http://127.0.0.1:${gatewayPort}` } : {}, token, sha256Hex(agentToken)],
  );
  // (its connection ends when the server closes)
  if (gatewayPort) await connectStandInAgent({ base: server.url, token: agentToken, instanceId: id, port: gatewayPort });
  return id;
}

async function signInHere(page: Page, email: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
}

describe("without a platform key", { skip }, () => {
  let server: RunningServer;
  let dataDir: string;
  let gateway: Awaited<ReturnType<typeof standInGateway>>;
  let b: BrowserSession;
  let id: string;
  const email = `first-${Date.now()}@example.com`;

  before(async () => {
    dataDir = freshDataDir();
    gateway = await standInGateway();
    server = await start(dataDir);
    b = await openBrowser();
    await signUpInBrowser(b.page, server.url, email, PASSWORD);
    id = await runningInstance(server, b.page, "home", gateway.port);
  });
  after(async () => {
    await b?.close();
    await server?.close();
    gateway?.server.close();
    if (dataDir) removeDir(dataDir);
  });

  test("Chat with no model key: the guidance and the Settings link before OpenClaw; clicking through reaches Settings → Credentials", async () => {
    const { page } = b;
    const base = server.url;
    await page.goto(`${base}/chat`);
    const guide = page.getByTestId("no-model-key");
    await guide.getByRole("heading", { name: "Add a model key before you chat" }).waitFor();
    assert.match((await guide.textContent()) ?? "", /no model to answer with: you have not added a Claude API key, and this Tropic has no key/);
    assert.equal(await page.locator("iframe.chat-frame").count(), 0, "OpenClaw's UI is not shown yet");
    await b.shot("chat-no-key");

    await guide.getByRole("link", { name: "Settings → Credentials" }).click();
    await page.waitForURL(`${base}/settings#credentials`);
    const creds = page.getByRole("region", { name: "Credentials" });
    const status = page.getByTestId("claude-key-status");
    await status.getByText("No model key: add your Claude API key.").waitFor();
    assert.doesNotMatch((await creds.textContent()) ?? "", /use Tropic's key/, "no platform key here: never 'your instances use Tropic's key'");
    assert.match((await creds.textContent()) ?? "", /this Tropic has no key of its own/);
    await page.waitForFunction(() => {
      const r = document.getElementById("credentials")!.getBoundingClientRect();
      return r.top >= -1 && r.top < window.innerHeight / 2;
    });
    await creds.getByLabel("Claude API key").waitFor();
    await b.shot("settings-no-key");

    // Back to Chat: the user may open OpenClaw anyway (a custom endpoint, say); the page keeps a hint.
    await page.goBack();
    await page.waitForURL(`${base}/chat`);
    await page.getByRole("button", { name: "Open OpenClaw anyway" }).click();
    const iframe = page.locator("iframe.chat-frame");
    assert.equal(await iframe.getAttribute("src"), `/i/${id}/`);
    await page.frameLocator("iframe.chat-frame").getByRole("heading", { name: STAND_IN_TITLE }).waitFor();
    await page.getByTestId("no-model-key-tip").getByRole("link", { name: "Settings → Credentials" }).waitFor();

    // Away and back through the nav: the guidance is back (nothing was stored).
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Agents" }).click();
    await nav.getByRole("link", { name: "Chat" }).click();
    await page.getByTestId("no-model-key").getByRole("button", { name: "Open OpenClaw anyway" }).waitFor();

    // A custom model in Settings counts as a model: OpenClaw opens at once.
    const custom = await page.request.patch(`${base}/api/v1/settings`, {
      data: { model: "custom", customModel: { provider: "ollama", modelId: "llama3", baseUrl: "http://127.0.0.1:11434/v1" } },
    });
    assert.equal(custom.status(), 200, await custom.text());
    await page.reload();
    await page.locator("iframe.chat-frame").waitFor();
    assert.equal(await page.getByTestId("no-model-key").count(), 0);
    const preset = await page.request.patch(`${base}/api/v1/settings`, { data: { model: "anthropic/claude-sonnet-4-6" } });
    assert.equal(preset.status(), 200);

    // Stored from Settings → Credentials: Chat opens OpenClaw at once.
    await page.goto(`${base}/settings#credentials`);
    await creds.getByLabel("Claude API key").fill("sk-ant-api03-new-user-key-0123456789-abcd");
    await creds.getByRole("button", { name: "Save key" }).click();
    await page.getByTestId("claude-key-status").getByText("…abcd").waitFor();
    await page.goto(`${base}/chat`);
    await page.locator("iframe.chat-frame").waitFor();
    assert.equal(await page.getByTestId("no-model-key").count(), 0);
    assert.equal(await page.getByTestId("no-model-key-tip").count(), 0);
    const removed = await page.request.delete(`${base}/api/v1/credentials/ANTHROPIC_API_KEY`);
    assert.equal(removed.status(), 204);
  });

  test("Credits at balance 0 with a free local instance running: nothing is charged, nothing is 'used up'", async () => {
    const { page } = b;
    await page.goto(`${server.url}/credits`);
    const card = page.getByTestId("runs-out");
    await card.getByText("Balance 0 · nothing is charged: your instances are free (local).").waitFor();
    assert.equal(await card.locator(".stat-value").textContent(), "Never");
    const summary = (await page.getByRole("region", { name: "Credit summary" }).textContent()) ?? "";
    assert.doesNotMatch(summary, /Used up|paused/);
    const usage = await (await page.request.get(`${server.url}/api/v1/credits/usage`)).json();
    assert.equal(usage.forecast.summary, "Balance 0 · nothing is charged: your instances are free (local).");
    await b.shot("credits-free");
  });

  test("Marketplace and the Skills drawer draw SVG icons, one per template and skill, no emoji", async () => {
    const { page } = b;
    await page.goto(`${server.url}/marketplace`);
    await page.getByRole("button", { name: "Deploy Personal Assistant" }).waitFor();
    const icons = page.locator("section.template svg.icon-svg");
    const cards = await page.locator("section.template").count();
    assert.ok(cards >= 6);
    assert.equal(await icons.count(), cards, "an SVG on every card");
    const keys = await icons.evaluateAll((els) => els.map((e) => e.getAttribute("data-icon")));
    assert.equal(new Set(keys).size, cards, `distinct icons: ${keys.join(", ")}`);
    assert.ok(!keys.includes("fallback"), "every key is known to the dashboard");
    // Drawn: each icon has a size on screen.
    const box = await icons.first().boundingBox();
    assert.ok(box && box.width >= 24 && box.height >= 24);
    const text = (await page.locator("main").textContent()) ?? "";
    assert.doesNotMatch(text, /\p{Emoji_Presentation}|\uFE0F/u);
    await b.shot("marketplace-icons");

    await page.goto(`${server.url}/agents`);
    await page.getByRole("button", { name: "Skills on home" }).click();
    const drawer = page.getByRole("dialog", { name: "Skills on home" });
    await drawer.getByRole("button", { name: "Install Weather" }).waitFor();
    const skillIcons = await drawer.locator("li.skill svg.icon-svg").evaluateAll((els) => els.map((e) => e.getAttribute("data-icon")));
    assert.equal(skillIcons.length, await drawer.locator("li.skill").count());
    assert.equal(new Set(skillIcons).size, skillIcons.length);
    assert.doesNotMatch((await drawer.textContent()) ?? "", /\p{Emoji_Presentation}|\uFE0F/u);
    await b.shot("skills-icons");
    await page.keyboard.press("Escape");
  });

  test("signed out, /i/<id>/ lands on the sign-in page; after signing in, back on /i/<id>/", async () => {
    const s = await openBrowser();
    try {
      const { page } = s;
      await page.goto(`${server.url}/i/${id}/`);
      assert.equal(new URL(page.url()).pathname, "/signin");
      assert.equal(new URL(page.url()).searchParams.get("next"), `/i/${id}/`);
      await page.getByText("Sign in to continue where you were.").waitFor();
      // The way to sign up keeps the return path.
      assert.equal(
        await page.getByRole("link", { name: "Create an account" }).getAttribute("href"),
        `/signup?next=${encodeURIComponent(`/i/${id}/`)}`,
      );
      await s.shot("signin-next");
      await signInHere(page, email);
      await page.waitForURL((u) => u.pathname === `/i/${id}/`);
      await page.getByRole("heading", { name: STAND_IN_TITLE }).waitFor();
      assert.equal(await page.title(), STAND_IN_TITLE, "the instance's page, through the proxy");
      // …on the instance's own origin, handed over from the dashboard's session.
      assert.equal(new URL(page.url()).host, `${id}.localhost:${new URL(server.url).port}`);
    } finally {
      await s.close();
    }
  });

  test("a signed-out dashboard page is returned to after sign-in; a foreign next is refused by the server and by the page", async () => {
    const s = await openBrowser();
    try {
      const { page } = s;
      await page.goto(`${server.url}/credits`);
      await page.waitForURL((u) => u.pathname === "/signin" && u.searchParams.get("next") === "/credits");
      await signInHere(page, email);
      await page.waitForURL(`${server.url}/credits`);
      await page.getByRole("heading", { name: "Credits", exact: true }).waitFor();

      // The server drops an absolute next before the page loads.
      await page.context().clearCookies();
      await page.goto(`${server.url}/signin?next=${encodeURIComponent("https://evil.example/")}`);
      assert.equal(page.url(), `${server.url}/signin`);
      await signInHere(page, email);
      await page.waitForURL(`${server.url}/agents`);

      // And the page itself refuses one the server never saw (set in the address bar after load).
      for (const bad of ["//evil.example/", "/\\evil.example", "https://evil.example/"]) {
        await page.context().clearCookies();
        await page.goto(`${server.url}/signin`);
        await page.getByLabel("Email").waitFor();
        await page.evaluate((n) => history.replaceState(null, "", `/signin?next=${encodeURIComponent(n)}`), bad);
        await signInHere(page, email);
        await page.waitForURL(`${server.url}/agents`);
      }
    } finally {
      await s.close();
    }
  });
});

describe("credits that run out (local compute priced at 12 credits/hour)", { skip }, () => {
  let server: RunningServer;
  let dataDir: string;
  let ratesDir: string;
  let b: BrowserSession;

  before(async () => {
    dataDir = freshDataDir();
    ratesDir = mkdtempSync(join(tmpdir(), "tropic-rates-"));
    writeFileSync(join(ratesDir, "rates.json"), JSON.stringify({ compute: { local: 12 } }));
    server = await start(dataDir, undefined, join(ratesDir, "rates.json"));
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await server?.close();
    if (dataDir) removeDir(dataDir);
    if (ratesDir) removeDir(ratesDir);
  });

  test("balance 0 with a priced instance: 'Used up', it is paused; with credits: the run-out date and who pauses then", async () => {
    const { page } = b;
    const email = `priced-${Date.now()}@example.com`;
    await signUpInBrowser(page, server.url, email, PASSWORD);
    const id = await runningInstance(server, page, "home");
    const rates = mergeRates({ compute: { local: 12 } });

    // At 0 it costs credits: the page says it is being paused, and the meter does pause it.
    await page.goto(`${server.url}/credits`);
    const card = page.getByTestId("runs-out");
    await card.getByText("Balance 0: home costs 12 credits/hour and is paused within 5 minutes until credits are added.").waitFor();
    assert.equal(await card.locator(".stat-value").textContent(), "Used up");
    assert.deepEqual(
      (await checkLimits(server.database.pool, (await (await page.request.get(`${server.url}/api/v1/me`)).json()).id, { rates })).paused,
      [id],
    );
    // The reconciler would now stop it (instances are off here).
    await server.database.pool.query("UPDATE instances SET state = 'stopped', stopped_at = now() WHERE id = $1", [id]);
    await page.reload();
    await card.getByText("Balance 0: home is paused until credits are added.").waitFor();

    // Credits added (the first account is the admin): it runs again; the meter charges its past hour.
    const grant = await page.request.post(`${server.url}/api/v1/admin/credits/grant`, { data: { email, credits: 1000, note: "test credits" } });
    assert.equal(grant.status(), 201, await grant.text());
    await server.database.pool.query(
      "UPDATE instances SET state = 'running', started_at = now() - interval '1 hour', metered_until = NULL WHERE id = $1",
      [id],
    );
    const agent = await page.request.post(`${server.url}/api/v1/agents`, { data: { instanceId: id, templateId: "personal-assistant" } });
    assert.equal(agent.status(), 201, await agent.text());
    const tick = await meterTick(server.database.pool, { rates });
    assert.ok(tick.computeRows >= 12, JSON.stringify(tick));
    await page.goto(`${server.url}/credits`);
    await page.getByTestId("burn-chart").waitFor();
    assert.equal(await card.locator(".stat-value").textContent(), "in 3.4 days");
    assert.match(
      (await card.locator(".stat-note").textContent()) ?? "",
      /^around .+ at the current burn rate; then home is paused until credits are added\.$/,
    );
    const usage = await (await page.request.get(`${server.url}/api/v1/credits/usage`)).json();
    assert.equal(usage.forecast.status, "runs_out");
    assert.equal(usage.forecast.summary, "Runs out in 3.4 days at 12 credits/hour; then home is paused until credits are added.");
    await page.mouse.move(0, 0);
    await b.shot("credits-charged");
  });
});

describe("with a platform key (TROPIC_PLATFORM_ANTHROPIC_KEY)", { skip }, () => {
  let server: RunningServer;
  let dataDir: string;
  let b: BrowserSession;

  before(async () => {
    dataDir = freshDataDir();
    server = await start(dataDir, "sk-ant-api03-platform-0000000000-zzzz");
    b = await openBrowser();
    await signUpInBrowser(b.page, server.url, `platform-${Date.now()}@example.com`, PASSWORD);
  });
  after(async () => {
    await b?.close();
    await server?.close();
    if (dataDir) removeDir(dataDir);
  });

  test("Settings says the instances use Tropic's key, and Chat opens OpenClaw without the guidance", async () => {
    const { page } = b;
    await page.goto(`${server.url}/settings`);
    await page.getByTestId("claude-key-status").getByText("No Claude API key stored: your instances use Tropic's key").waitFor();
    assert.ok(!(await page.content()).includes("zzzz"), "nothing of the platform key is in the page");
    await runningInstance(server, page, "home");
    await page.goto(`${server.url}/chat`);
    await page.locator("iframe.chat-frame").waitFor();
    assert.equal(await page.getByTestId("no-model-key").count(), 0);
  });
});
