// tropic-host's pieces that run without a host: arguments, enrolment (a local HTTP server standing in
// for the control plane: the token in the POST body only, the control plane's refusal shown without
// the token), Agent37 detection, and the import of a user's ~/.openclaw (backed up, paths rewritten,
// protected files the agent's and read-only to the gateway).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { importOpenclaw, rewritePaths } from "../src/import.ts";
import { enrol, isAgent37, parseArgs } from "../src/main.ts";

test("arguments", () => {
  assert.deepEqual(parseArgs(["install", "--url", "http://x", "--token-stdin", "--prefix=/p"]), {
    cmd: "install",
    opts: { url: "http://x", "token-stdin": true, prefix: "/p" },
  });
  assert.throws(() => parseArgs(["install", "--url"]), /--url needs a value/);
});

test("Agent37: either variable flags the host", () => {
  assert.equal(isAgent37({}), false);
  assert.equal(isAgent37({ AGENT37_LLM_PROXY_URL: "http://p" }), true);
  assert.equal(isAgent37({ OPENCLAW_STARTER_PROXY_URL: "http://p" }), true);
});

test("enrolment: POST /api/v1/hosts/enrol with the token in the JSON body; a refusal shows the control plane's words, never the token", async () => {
  const seen: { method?: string; url?: string; body?: string }[] = [];
  let refuse = false;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, body });
      const { token } = JSON.parse(body);
      res.setHeader("content-type", "application/json");
      if (refuse) {
        res.statusCode = 401;
        return res.end(
          JSON.stringify({ error: { code: "enrolment_refused", message: `the enrolment token is used or expired (${token})`, field: "token" } }),
        );
      }
      res.end(JSON.stringify({ instanceId: "i-1", agentToken: "a".repeat(64), agentUrl: "ws://cp", gatewayToken: "b".repeat(48) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const token = "tet_secretsecretsecret";
    const host = { os: "linux", arch: "x64", hostname: "h", agentVersion: "0.1.0", openclawVersion: "2026.9.6", agent37: false };
    const r = await enrol(url, token, host);
    assert.equal(r.instanceId, "i-1");
    assert.equal(seen[0]!.method, "POST");
    assert.equal(seen[0]!.url, "/api/v1/hosts/enrol", "no token in the URL");
    assert.deepEqual(JSON.parse(seen[0]!.body!), { token, host });
    refuse = true;
    await assert.rejects(enrol(url, token, host), (e: Error) => {
      assert.match(e.message, /HTTP 401\): the enrolment token is used or expired/);
      assert.ok(!e.message.includes(token), "the token is not in the error");
      return true;
    });
  } finally {
    server.close();
  }
});

test("the user's ~/.openclaw: backed up, copied, paths rewritten, protected files the agent's and 0640", {
  skip: process.getuid?.() !== 0 && "needs root (chown)",
}, () => {
  const t = mkdtempSync(join(tmpdir(), "tropic-import-"));
  try {
    const from = join(t, "user", ".openclaw");
    mkdirSync(join(from, "workspace"), { recursive: true });
    writeFileSync(join(from, "workspace", "SOUL.md"), "be kind\n");
    writeFileSync(join(from, ".env"), "ANTHROPIC_API_KEY=x\n", { mode: 0o600 });
    writeFileSync(
      join(from, "openclaw.json"),
      JSON.stringify({ agents: { defaults: { workspace: `${from}/workspace` } }, channels: { whatsapp: { dmPolicy: "pairing" } } }),
    );
    symlinkSync("/etc/shadow", join(from, "link"));
    const stateDir = join(t, "home", ".openclaw");
    mkdirSync(join(t, "home"));
    const users = { gateway: { user: "x", uid: 12345, gid: 12345 }, agent: { user: "y", uid: 12346, gid: 12346 } };
    const r = importOpenclaw({ from, stateDir, backupDir: join(t, "backups"), users });
    assert.ok(existsSync(r.backup));
    assert.equal(statSync(r.backup).mode & 0o777, 0o600);
    assert.match(spawnSync("tar", ["-tzf", r.backup], { encoding: "utf8" }).stdout, /workspace\/SOUL\.md/);
    assert.deepEqual(r.merged, [".env", "link", "openclaw.json", "workspace"]);
    assert.equal(readFileSync(join(stateDir, "workspace", "SOUL.md"), "utf8"), "be kind\n");
    const cfg = JSON.parse(readFileSync(join(stateDir, "openclaw.json"), "utf8"));
    assert.equal(cfg.agents.defaults.workspace, `${stateDir}/workspace`);
    assert.equal(cfg.channels.whatsapp.dmPolicy, "pairing");
    for (const f of ["openclaw.json", ".env"]) {
      const st = statSync(join(stateDir, f));
      assert.equal(st.uid, 12346, `${f} is the agent's`);
      assert.equal(st.gid, 12345);
      assert.equal(st.mode & 0o777, 0o640);
    }
    assert.equal(statSync(join(stateDir, "workspace", "SOUL.md")).uid, 12345);
    assert.equal(readFileSync(join(from, "openclaw.json"), "utf8").includes(from), true, "the original is untouched");
    assert.deepEqual(rewritePaths({ a: ["/x/.openclaw/w", "/x/.openclawX"] }, "/x/.openclaw", "/n"), { a: ["/n/w", "/x/.openclawX"] });
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
});
