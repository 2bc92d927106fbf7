// The Google Sheets and Notion skills used by an agent through the gate, in a REAL OpenClaw gateway with
// the tropic-gate plugin (plugin/test/harness.ts, a scripted model), installed the way the instance agent
// installs them (agent/src/commands.ts install_skill: SKILL.md, bin/ linked into <state>/skills-bin on
// the gateway's PATH, lib/; the .env). The Google access token comes from the agent's loopback token
// endpoint (agent/src/google-token.ts) which asks a real control plane (PGlite, the hub over a real
// WebSocket, connections/google.ts) that refreshes with a MOCK Google OAuth server; Sheets and Notion
// are MOCK servers on loopback.
//
// Why not a whole local instance: its gateway runs in its own network namespace, where the host's
// loopback (and so the MOCK APIs) is not reachable, and the wrappers accept plain http only on loopback.
// Here the gateway runs unsandboxed on the host's loopback with the same PATH and .env layout.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { eq } from "drizzle-orm";
import { getSkill } from "@tropic/marketplace";
import { type CommandContext, runCommand } from "../../agent/src/commands.ts";
import { Asks, answerTokenRequest, GOOGLE_TOKEN_PATH, routeLoopback, TokenCache } from "../../agent/src/google-token.ts";
import { type MockGoogle, startMockGoogle } from "../../marketplace/test/mock-google.ts";
import { type MockNotion, startMockNotion } from "../../marketplace/test/mock-notion.ts";
import { Instance } from "../../plugin/test/harness.ts";
import { textOf } from "../../plugin/test/model-server.ts";
import { instances } from "../src/db/schema.ts";
import { sha256Hex } from "../src/lib/tokens.ts";
import { signUp, type TestApp, testApp } from "./harness.ts";
import { connectStandInAgent } from "./stand-in-agent.ts";

const PUBLIC = "https://tropic.example";
const SHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

describe("skills through the gate in a real gateway (MOCK Google and Notion)", { timeout: 600_000 }, () => {
  const inst = new Instance();
  const m = inst.model;
  let g: MockGoogle;
  let n: MockNotion;
  let h: TestApp;
  let tokenServer: Server;
  let agent: { ws: import("ws").WebSocket; close(): void };
  const secret = randomBytes(32).toString("hex");
  const savedPath = process.env.PATH;
  const toolResults = (scenario: string) => m.of(scenario).flatMap((r) => r.messages.filter((x) => x.role === "tool").map((x) => textOf(x.content)));

  before(async () => {
    g = await startMockGoogle();
    n = await startMockNotion();
    g.spreadsheets.set(SHEET, {
      sheets: [
        {
          title: "Budget",
          rows: [
            ["Item", "Amount"],
            ["Flights", "412"],
            ["Hotel", "980"],
          ],
        },
      ],
    });
    n.addPage("Roadmap Q3");
    n.addPage("Holiday plans");

    // The control plane, with the owner's Google connection made through the MOCK OAuth flow.
    h = await testApp("pglite", {
      publicUrl: PUBLIC,
      google: {
        clientId: g.oauth.clientId,
        clientSecret: g.oauth.clientSecret,
        authUrl: g.oauth.authUrl,
        tokenUrl: g.oauth.tokenUrl,
        revokeUrl: g.oauth.revokeUrl,
      },
    });
    await h.app.listen({ port: 0, host: "127.0.0.1" });
    const user = await signUp(h.app);
    const start = await h.app.inject({ method: "POST", url: "/api/v1/connections/google/start", headers: { cookie: user.cookie, origin: PUBLIC } });
    const consent = await fetch(start.json().url, { redirect: "manual" });
    const back = new URL(consent.headers.get("location")!);
    const cb = await h.app.inject({ method: "GET", url: back.pathname + back.search, headers: { cookie: user.cookie } });
    assert.equal(cb.headers.location, "/settings?google=connected#connections");
    const instance = (await h.app.inject({ method: "POST", url: "/api/v1/instances", headers: user.auth, payload: { name: "sheets" } })).json();
    const agentToken = randomBytes(32).toString("hex");
    await h.database.db
      .update(instances)
      .set({ agentTokenHash: sha256Hex(agentToken) })
      .where(eq(instances.id, instance.id));
    agent = await connectStandInAgent({
      base: `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`,
      token: agentToken,
      instanceId: instance.id,
      port: 1,
    });

    // The agent's side: its management channel's asks, and the loopback token endpoint.
    const asks = new Asks((f) => {
      agent.ws.send(f);
      return true;
    });
    agent.ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const f = JSON.parse(String(data));
      if (f.type === "answer") asks.answer(f);
    });
    const cache = new TokenCache(() => asks.ask("google_token"));
    tokenServer = createServer((c: Socket) =>
      routeLoopback(
        c,
        (head) => void answerTokenRequest(c, head, secret, cache),
        () => c.destroy(),
      ),
    );
    await new Promise<void>((r) => tokenServer.listen(0, "127.0.0.1", r));
    const tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}${GOOGLE_TOKEN_PATH}`;

    // The gateway's PATH as the providers set it: the skills' commands first.
    process.env.PATH = `${join(inst.stateDir, "skills-bin")}:${savedPath}`;
    m.script("sheets", [{ name: "exec", arguments: { command: `gws-sheets +read --spreadsheet ${SHEET} --range 'Budget!A1:B3'` } }]);
    m.script("sheetsappend", [
      {
        name: "exec",
        arguments: {
          command: `gws-sheets +append --spreadsheet https://docs.google.com/spreadsheets/d/${SHEET}/edit --range Budget --values 'Museum,35'`,
        },
      },
    ]);
    m.script("notion", [{ name: "exec", arguments: { command: "notion-cli search --query roadmap" } }]);
    await inst.start();

    // Installed as the instance agent installs them, then the gateway restarted (it reads .env at start).
    const ctx: CommandContext = {
      stateDir: inst.stateDir,
      configPath: inst.configPath,
      gatewayLog: inst.logPath,
      owner: null,
      restartGateway: async () => {
        await inst.restart();
        return true;
      },
      gatewayRunning: () => true,
      status: async () => ({}) as never,
    };
    for (const slug of ["google-sheets", "notion"]) {
      const s = getSkill(slug)!;
      await runCommand(ctx, "install_skill", {
        slug,
        files: { "SKILL.md": s.skillMd, ...s.programFiles },
        env: slug === "notion" ? { NOTION_API_KEY: n.key } : {},
        restart: false,
      });
    }
    await runCommand(ctx, "write_env", {
      vars: {
        TROPIC_GOOGLE_TOKEN_URL: tokenUrl,
        TROPIC_GOOGLE_TOKEN_SECRET: secret,
        // the MOCK APIs instead of Google's and Notion's (test only)
        TROPIC_SHEETS_API_BASE: g.url,
        TROPIC_NOTION_API_BASE: n.url,
      },
    });
    await inst.restart();
  });

  after(async () => {
    process.env.PATH = savedPath;
    await inst.stop();
    agent?.close();
    tokenServer?.close();
    await h?.close();
    await g?.close();
    await n?.close();
  });

  test("exec gws-sheets +read: the tool result carries the MOCK sheet, read with a token refreshed by the control plane", async () => {
    const refreshesBefore = g.oauth.grants.filter((x) => x.grantType === "refresh_token").length;
    const { result } = await inst.turn("sheets");
    assert.equal(result.status, "ok");
    const seen = toolResults("sheets").join("\n");
    assert.match(seen, /Flights/, seen.slice(0, 2000));
    assert.match(seen, /980/);
    const reads = g.requests.filter((r) => r.path.startsWith(`/v4/spreadsheets/${SHEET}/values/`));
    assert.equal(reads.length, 1);
    assert.ok(g.oauth.accessTokens.includes(reads[0]!.auth!.replace(/^Bearer /, "")), "the access token Google's token endpoint issued");
    assert.ok(g.oauth.grants.filter((x) => x.grantType === "refresh_token").length >= refreshesBefore);
    await inst.auditLine((e) => e.tool === "exec" && e.decision === "ALLOW" && e.paramsDigest?.includes("gws-sheets"));
    assert.equal(seen.includes(secret), false, "the endpoint's secret never reaches the model");
  });

  test("exec gws-sheets +append with a spreadsheet URL: the row lands in the MOCK sheet", async () => {
    await inst.turn("sheetsappend");
    const seen = toolResults("sheetsappend").join("\n");
    assert.match(seen, /Budget!A4:B4/, seen.slice(0, 2000));
    assert.deepEqual(g.spreadsheets.get(SHEET)!.sheets[0]!.rows.at(-1), ["Museum", "35"]);
  });

  test("exec notion-cli search: the tool result lists the MOCK Notion page", async () => {
    await inst.turn("notion");
    const seen = toolResults("notion").join("\n");
    assert.match(seen, /Roadmap Q3/, seen.slice(0, 2000));
    assert.doesNotMatch(seen, /Holiday plans/);
    const search = n.requests.find((r) => r.path === "/v1/search");
    assert.equal(search?.body?.query, "roadmap");
    await inst.auditLine((e) => e.tool === "exec" && e.decision === "ALLOW" && e.paramsDigest?.includes("notion-cli"));
    assert.equal(seen.includes(n.key), false);
  });
});
