// WhatsApp on a real instance (docs/whatsapp.md). MOCK: WhatsApp's servers cannot be reached, so the
// channel plugin is a stand-in (whatsapp-standin/, registered as channel "whatsapp" like
// @openclaw/whatsapp) that implements the same login methods and shows a new QR every 3 s, then
// "connects" after 3. Everything else is real: the control plane, the instance agent, a sandboxed
// OpenClaw gateway with the gate, its web.login.* and channels.* methods.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Api, destroyAll, freshDataDir, inProcessServer, instanceFiles, ROOT, removeDir, sleep } from "./instances-harness.ts";
import { pairEvents, STANDIN } from "./whatsapp-harness.ts";

const agentLog = (dir: string) => {
  try {
    return readFileSync(join(dir, "agent.log"), "utf8").split("\n").slice(-40).join("\n");
  } catch {
    return "";
  }
};

test("MOCK WhatsApp: pair through the API's SSE (new QRs, then paired), status from the gateway, allowFrom follows Settings, unpair", {
  timeout: 600_000,
}, async (t) => {
  process.env.TROPIC_WHATSAPP_PLUGIN_DIR = STANDIN;
  const dataDir = freshDataDir();
  const server = await inProcessServer(dataDir);
  t.after(async () => {
    delete process.env.TROPIC_WHATSAPP_PLUGIN_DIR;
    await Promise.race([server.close().catch(() => {}), sleep(20_000)]);
    await destroyAll(dataDir);
    removeDir(dataDir);
  });
  const a = await new Api(server.url).as(`wa-${Date.now()}@example.com`);
  const b = await new Api(server.url).as(`wa-other-${Date.now()}@example.com`);
  // Phone rules first: one whole number OpenClaw can hold, one prefix it cannot.
  const set = await a.call("PATCH", "/api/v1/settings", { phoneMode: "allowlist", phonePatterns: ["+6591234567", "+65*"] });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  const inst = (await a.call("POST", "/api/v1/instances", { name: "wa" })).json;
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 240_000, "running");
  const f = instanceFiles(dataDir, inst.id);
  // Not paired before: the channel is not even loaded.
  const before = await a.call("GET", `/api/v1/instances/${inst.id}/whatsapp`);
  assert.equal(before.status, 200, JSON.stringify(before.json));
  assert.equal(before.json.paired, false);
  assert.equal(before.json.loaded, false);
  assert.equal(f.config().channels?.whatsapp, undefined, "the Settings push leaves an instance without WhatsApp alone");
  // Someone else's instance: not found.
  assert.equal((await b.call("GET", `/api/v1/instances/${inst.id}/whatsapp`)).status, 404);
  assert.equal((await fetch(`${server.url}/api/v1/instances/${inst.id}/whatsapp/pair`, { method: "POST", headers: b.auth })).status, 404);

  const t0 = Date.now();
  const events = await pairEvents(a, inst.id);
  const ms = Date.now() - t0;
  const qrs = events.filter((e) => e.type === "qr");
  const last = events.at(-1);
  assert.equal(last.type, "paired", JSON.stringify(events.map((e) => ({ ...e, qrDataUrl: e.qrDataUrl?.slice(0, 40) }))));
  assert.equal(last.number, "+15550001234");
  assert.ok(qrs.length >= 2, `at least two QRs, got ${qrs.length}`);
  assert.equal(new Set(qrs.map((q) => q.qrDataUrl)).size, qrs.length, "each QR sent is a new one");
  for (const q of qrs) assert.match(q.qrDataUrl, /^data:image\/png;base64,iVBORw0KGgo/);
  console.log(`paired in ${ms} ms after ${qrs.length} QRs`);

  // The state is the gateway's (channels.status through the agent). (The channel's reload and its
  // restart after the login take the gateway's readiness away for a moment: the card may say
  // initializing briefly; it is running again within a minute.)
  await a.until(`/api/v1/instances/${inst.id}`, (j) => j.state === "running", 90_000, "running again after pairing");
  const st = await a.call("GET", `/api/v1/instances/${inst.id}/whatsapp`);
  const now = await a.call("GET", `/api/v1/instances/${inst.id}`);
  assert.equal(st.status, 200, `${JSON.stringify(st.json)} instance: ${JSON.stringify(now.json)}\n${agentLog(f.dir)}`);
  assert.equal(st.json.paired, true);
  assert.equal(st.json.number, "+15550001234");
  assert.equal(st.json.loaded, true);
  assert.equal(st.json.phoneRules.enforcedByOpenClaw, true);
  assert.deepEqual(st.json.phoneRules.allowFrom, ["+6591234567"]);
  assert.match(st.json.phoneRules.notes.join(" "), /\+65\*.*gate alone/);
  // OpenClaw's own config carries the allowlist OpenClaw can express; the plugin is allowed and enabled.
  let cfg = f.config();
  assert.equal(cfg.plugins.entries.whatsapp.enabled, true);
  assert.ok(cfg.plugins.load.paths.includes(STANDIN));
  assert.deepEqual(cfg.channels.whatsapp, { dmPolicy: "allowlist", allowFrom: ["+6591234567"] });
  assert.equal(st.json.dmPolicy, "allowlist", "the gateway resolved the channel's policy");

  // Settings change → the channel config follows: a blocklist cannot be expressed (pairing, no allowFrom).
  assert.equal((await a.call("PATCH", "/api/v1/settings", { phoneMode: "blocklist", phonePatterns: ["+447911123457"] })).status, 200);
  const t1 = Date.now();
  while (Date.now() - t1 < 60_000 && f.config().channels.whatsapp.dmPolicy !== "pairing") await sleep(250);
  cfg = f.config();
  assert.deepEqual(cfg.channels.whatsapp, { dmPolicy: "pairing" });
  assert.equal(cfg.plugins.entries["tropic-gate"].config.phoneRules.mode, "blocklist", "the gate has the blocklist");
  // Back to an allowlist of two numbers.
  assert.equal((await a.call("PATCH", "/api/v1/settings", { phoneMode: "allowlist", phonePatterns: ["+6591234567", "+447911123456"] })).status, 200);
  const t2 = Date.now();
  while (Date.now() - t2 < 60_000 && f.config().channels.whatsapp.dmPolicy !== "allowlist") await sleep(250);
  assert.deepEqual(f.config().channels.whatsapp, { dmPolicy: "allowlist", allowFrom: ["+6591234567", "+447911123456"] });
  const st2 = await a.until(`/api/v1/instances/${inst.id}/whatsapp`, (j) => j.allowFrom?.length === 2, 30_000, "the gateway's allowFrom");
  assert.deepEqual(st2.allowFrom, ["+6591234567", "+447911123456"]);

  // Pairing again while paired: no QR, paired at once.
  const again = await pairEvents(a, inst.id);
  assert.equal(again.at(-1).type, "paired");
  assert.equal(again.filter((e) => e.type === "qr").length, 0);

  // Unpair: the gateway logs out.
  const del = await a.call("DELETE", `/api/v1/instances/${inst.id}/whatsapp`);
  assert.equal(del.status, 200, JSON.stringify(del.json));
  assert.equal(del.json.paired, false);
  assert.equal(del.json.cleared, true);
  const after = await a.call("GET", `/api/v1/instances/${inst.id}/whatsapp`);
  assert.equal(after.json.paired, false);
  assert.equal(after.json.number, null);
  // The CLI: `tropic whatsapp pair` draws each new QR in the terminal until paired; status; unpair.
  const tropic = (...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(join(ROOT, "bin", "tropic"), args, {
        env: { ...process.env, TROPIC_URL: server.url, TROPIC_TOKEN: a.auth.authorization!.slice(7), XDG_CONFIG_HOME: join(dataDir, "cli-config") },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      p.stdout.on("data", (d) => (out += d));
      p.stderr.on("data", (d) => (out += d));
      p.on("close", (code) => resolve({ code, out }));
    });
  const cli = await tropic("whatsapp", "pair", "wa");
  assert.equal(cli.code, 0, cli.out);
  assert.match(cli.out, /QR 1\b[\s\S]*QR 2\b/, "each new QR drawn");
  assert.match(cli.out, /[█▀▄]{20}/, "as blocks");
  assert.match(cli.out, /Paired WhatsApp with wa: \+15550001234\./);
  const cliStatus = await tropic("whatsapp", "status", "wa");
  assert.match(cliStatus.out, /WhatsApp on wa: paired with \+15550001234/);
  assert.match(cliStatus.out, /enforced by the gate and by OpenClaw \(dmPolicy allowlist, allowFrom \+6591234567, \+447911123456\)/);
  const cliUnpair = await tropic("whatsapp", "unpair", "wa");
  assert.equal(cliUnpair.code, 0, cliUnpair.out);
  assert.match(cliUnpair.out, /Unpaired WhatsApp on wa\./);
  assert.equal((await a.call("GET", `/api/v1/instances/${inst.id}/whatsapp`)).json.paired, false);

  // Audit events.
  const audit = await a.call("GET", "/api/v1/audit-events?limit=50");
  const actions = (audit.json.items ?? audit.json.events ?? []).map((e: any) => e.action);
  for (const x of ["whatsapp.pair", "whatsapp.paired", "whatsapp.unpair"]) assert.ok(actions.includes(x), `${x} in ${actions.join(", ")}`);
});
