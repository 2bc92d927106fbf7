// The Google Sheets skill on a REAL local instance (bubblewrap sandbox, its own network namespace, the
// instance agent and its worker): installed from the dashboard's API, its commands on the sandboxed
// gateway's PATH, and the Google token endpoint reached from inside the namespace with the secret the
// agent put in the gateway's .env, answered through the agent's channel by the control plane, which
// refreshes at a MOCK Google OAuth server. A scripted model (on the stand-in internet) drives `exec`.
// The Sheets API itself is not reachable from the sandbox (no internet here; MOCK servers on this
// machine's loopback are outside the namespace): the read fails at Google, after the token was had,
// which is what this test shows (server/test/skills-gateway.MOCK.e2e.test.ts reads a MOCK sheet).
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { startMockGoogle } from "../../marketplace/test/mock-google.ts";
import { GatewayClient } from "../../plugin/test/gateway-client.ts";
import { ScriptedModel, textOf } from "../../plugin/test/model-server.ts";
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
} from "./instances-harness.ts";

const SHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms";

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

test("Google Sheets skill on a real local instance: gws-sheets on the sandbox's PATH, its token from the agent's endpoint in the namespace (MOCK Google OAuth)", {
  timeout: 900_000,
}, async (t) => {
  const g = await startMockGoogle();
  g.oauth.expiresIn = 90; // every ask refreshes at the MOCK (a cached token needs two minutes left)
  const model = new ScriptedModel();
  await model.start();
  const dataDir = freshDataDir();
  const port = await freePort();
  const server = await inProcessServer(dataDir, 2000, {
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    google: {
      clientId: g.oauth.clientId,
      clientSecret: g.oauth.clientSecret,
      authUrl: g.oauth.authUrl,
      tokenUrl: g.oauth.tokenUrl,
      revokeUrl: g.oauth.revokeUrl,
    },
  });
  const clients: GatewayClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    await model.stop();
    await g.close();
    removeDir(dataDir);
  });
  const a = await new Api(server.url).as(`sheets-${Date.now()}@example.com`);
  const set = await a.call("PATCH", "/api/v1/settings", {
    model: "custom",
    customModel: { provider: "scripted", modelId: "scripted", baseUrl: `${await (await standInInternet()).expose(model.port)}/v1` },
  });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const inst = (await a.call("POST", "/api/v1/instances", { name: "sheets" })).json;
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "running");
  const dep = await a.call("POST", "/api/v1/agents", { instanceId: inst.id, templateId: "personal-assistant", model: "scripted/scripted" });
  assert.equal(dep.status, 201, JSON.stringify(dep.json));
  await a.until(`/api/v1/agents/${dep.json.id}`, (j) => j.state === "ready", 120_000, "agent ready");
  const inst2 = await a.call("POST", `/api/v1/instances/${inst.id}/skills`, { slug: "google-sheets" });
  assert.equal(inst2.status, 201, JSON.stringify(inst2.json));
  await a.until(
    `/api/v1/instances/${inst.id}/skills`,
    (j) => j.items?.find((i: { skillSlug: string }) => i.skillSlug === "google-sheets")?.state === "installed",
    180_000,
    "skill installed",
  );
  const f = instanceFiles(dataDir, inst.id);

  const turn = async (scenario: string, command: string) => {
    model.script(scenario, [{ name: "exec", arguments: { command } }]);
    const inside = await gatewayInNamespace(dataDir, inst.id);
    const client = new GatewayClient(inside.port, f.config().gateway.auth.token);
    clients.push(client);
    try {
      await client.connect();
      const sid = `${scenario}-${Date.now().toString(36)}`;
      await client.call(
        "agent",
        { message: `SCENARIO:${scenario} go.`, agentId: dep.json.slug, sessionId: sid, channel: "webchat", idempotencyKey: sid },
        { final: true, timeoutMs: 120_000 },
      );
    } finally {
      client.close();
      inside.close();
    }
    return model
      .of(scenario)
      .flatMap((r) => r.messages.filter((x) => x.role === "tool").map((x) => textOf(x.content)))
      .join("\n");
  };

  // The commands are on the sandboxed gateway's PATH, from the skill's own folder.
  const which = await turn("which", "command -v gws-sheets gws");
  assert.match(which, /\/skills-bin\/gws-sheets/, which.slice(0, 2000));
  assert.match(which, /\/skills-bin\/gws\b/);

  // No Google connection yet: the agent's endpoint says not_connected, the wrapper says what to do.
  const before = await turn("notconnected", `gws-sheets +read --spreadsheet ${SHEET} --range A1`);
  assert.match(before, /no Google account is connected/, before.slice(0, 2000));

  // Connect Google (an API token drives the flow, as the CLI would).
  const start = await a.call("POST", "/api/v1/connections/google/start");
  assert.equal(start.status, 200, JSON.stringify(start.json));
  const consent = await fetch(start.json.url, { redirect: "manual" });
  const back = new URL(consent.headers.get("location")!);
  const cb = await fetch(`${server.url}${back.pathname}${back.search}`, { headers: a.auth, redirect: "manual" });
  assert.equal(cb.headers.get("location"), "/settings?google=connected#connections");

  // Now the token comes (refreshed at the MOCK for this instance's owner); the read then fails only at
  // Google's address, which the sandbox cannot reach here.
  const refreshes = () => g.oauth.grants.filter((x) => x.grantType === "refresh_token" && x.ok).length;
  const r0 = refreshes();
  const after = await turn("connected", `gws-sheets +read --spreadsheet ${SHEET} --range A1`);
  assert.doesNotMatch(after, /no Google account is connected|instance agent/, after.slice(0, 2000));
  assert.match(after, /could not reach Google Sheets|Google refused the access token/);
  assert.equal(refreshes(), r0 + 1, "the control plane refreshed once for this read");
  // the secret and the token stay out of what the model saw
  assert.doesNotMatch(after, /ya29\./);
});
