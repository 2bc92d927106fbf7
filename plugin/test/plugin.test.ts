// The plugin's logic against a MOCKED OpenClaw plugin API (a recorder of api.on / middleware
// registrations): decisions, approvals, fail-closed paths, hot reload, redaction, config and audit.
// The same code runs inside a real gateway in e2e.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, test } from "node:test";
import { AuditLog } from "../src/audit.ts";
import { parseConfig, resolveStatePath } from "../src/config.ts";
import { type PluginApi, registerGate, resetShared, rewrite } from "../src/plugin.ts";

type Handler = (event: unknown, ctx?: unknown) => unknown;
function mockApi(pluginConfig: Record<string, unknown>, logs: string[] = []) {
  const hooks: Record<string, Handler> = {};
  let middleware: Handler | null = null;
  const api: PluginApi = {
    pluginConfig,
    config: {},
    logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
    on: (name, h) => {
      hooks[name] = h as Handler;
    },
    registerAgentToolResultMiddleware: (h) => {
      middleware = h as Handler;
    },
  };
  return { api, hooks, logs, middleware: () => middleware! };
}

const root = mkdtempSync(join(tmpdir(), "tropic-plugin-unit-"));
let n = 0;
function setup(config: Record<string, unknown>, extra: Parameters<typeof registerGate>[1] = {}) {
  const dir = join(root, String(++n));
  const env = { HOME: dir, OPENCLAW_STATE_DIR: join(dir, ".openclaw") };
  const m = mockApi(config);
  const rt = registerGate(m.api, { env, ...extra });
  return { ...m, rt, dir, env, auditPath: join(dir, ".openclaw", ".sondera", "audit.log") };
}
const lines = async (rt: { audit: AuditLog | null }) => {
  await rt.audit!.flush();
  return readFileSync(rt.audit!.path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
};

describe("tropic-gate plugin logic (mocked OpenClaw plugin API)", () => {
  beforeEach(() => resetShared());

  test("deny blocks with the rule id in the reason; allow returns nothing; both are audited", async () => {
    const s = setup({});
    await s.rt.ready;
    const deny = (await s.hooks.before_tool_call(
      { toolName: "exec", params: { command: "rm -rf /srv/data" }, toolCallId: "c1" },
      { agentId: "main" },
    )) as {
      block: boolean;
      blockReason: string;
    };
    assert.equal(deny.block, true);
    assert.match(deny.blockReason, /base-deny-rm-rf/);
    const allow = await s.hooks.before_tool_call({ toolName: "exec", params: { command: "ls -la" } }, { agentId: "main" });
    assert.equal(allow, undefined);
    const log = await lines(s.rt);
    assert.equal(s.rt.audit!.path, s.auditPath, "~/.openclaw resolves to the state dir");
    assert.deepEqual(
      log.map((e) => [e.decision, e.rules]),
      [
        ["DENY", ["base-deny-rm-rf"]],
        ["ALLOW", []],
      ],
    );
    assert.equal(log[0].toolCallId, "c1");
    assert.match(log[0].paramsSha256, /^[0-9a-f]{64}$/);
  });

  test("each agent's own policy applies to its calls; confirm asks OpenClaw for approval with a description, timeout and deny-on-timeout", async () => {
    const s = setup({ policies: { ops: "REQUIRE CONFIRM: run git push\n" }, approvalTimeoutMs: 5000 });
    await s.rt.ready;
    const r = (await s.hooks.before_tool_call({ toolName: "exec", params: { command: "git push origin main" } }, { agentId: "ops" })) as {
      requireApproval: { title: string; description: string; timeoutMs: number; allowedDecisions: string[]; onResolution: (d: string) => void };
    };
    assert.ok(r.requireApproval);
    assert.match(r.requireApproval.description, /git push origin main/);
    assert.match(r.requireApproval.description, /ops-L1/);
    assert.equal(r.requireApproval.timeoutMs, 5000);
    assert.ok(r.requireApproval.title.length <= 80);
    assert.deepEqual(r.requireApproval.allowedDecisions, ["allow-once", "deny"]);
    r.requireApproval.onResolution("timeout");
    assert.equal(
      await s.hooks.before_tool_call({ toolName: "exec", params: { command: "git push origin main" } }, { agentId: "main" }),
      undefined,
      "main has no such rule",
    );
    const log = await lines(s.rt);
    assert.deepEqual(
      log.map((e) => [e.phase, e.decision, e.approval]),
      [
        ["call", "CONFIRM", undefined],
        ["approval", "DENY", "timeout"],
        ["call", "ALLOW", undefined],
      ],
    );
  });

  test("fail closed: rules that cannot load deny every call, and the audit log says why", async () => {
    const s = setup({ policies: { main: "DENY: frobnicate the quux\n" } });
    await s.rt.ready;
    const r = (await s.hooks.before_tool_call({ toolName: "exec", params: { command: "ls" } }, { agentId: "main" })) as {
      block: boolean;
      blockReason: string;
    };
    assert.equal(r.block, true);
    assert.match(r.blockReason, /tropic-fail-closed/);
    const [line] = await lines(s.rt);
    assert.equal(line.decision, "DENY");
    assert.match(line.error, /line 1/);
    assert.ok(s.logs.some((l) => l.includes("NO VALID RULE SET")));
  });

  test("fail closed: a missing policy file and an invalid config value deny too", async () => {
    const a = setup({ policyFiles: { main: "/nonexistent/main.policy" } });
    await a.rt.ready;
    const ra = (await a.hooks.before_tool_call({ toolName: "read", params: { path: "x" } }, {})) as { blockReason: string };
    assert.match(ra.blockReason, /cannot read \/nonexistent\/main\.policy/);
    resetShared();
    const b = setup({ packs: { base: "yes" } });
    await b.rt.ready;
    const rb = (await b.hooks.before_tool_call({ toolName: "read", params: { path: "x" } }, {})) as { blockReason: string };
    assert.match(rb.blockReason, /packs\.base: must be true or false/);
  });

  test("fail closed: an engine that does not load in time (mock engine factory) denies after loadTimeoutMs", async () => {
    const s = setup({ loadTimeoutMs: 150 }, { createGate: () => new Promise(() => {}) });
    const t0 = Date.now();
    const r = (await s.hooks.before_tool_call({ toolName: "exec", params: { command: "ls" } }, {})) as { blockReason: string };
    assert.ok(Date.now() - t0 >= 140);
    assert.match(r.blockReason, /did not load within 150 ms/);
  });

  test("fail closed: an engine that throws while deciding (mock engine) denies", async () => {
    const broken = {
      decide: () => {
        throw new Error("boom");
      },
      redact: (t: string) => ({ text: t, redactions: [] }),
    };
    const s = setup({}, { createGate: async () => broken as never });
    const r = (await s.hooks.before_tool_call({ toolName: "exec", params: { command: "ls" } }, {})) as { block: boolean; blockReason: string };
    assert.equal(r.block, true);
    assert.match(r.blockReason, /boom/);
  });

  test("hot reload: a new registration with a valid set applies; an invalid one is refused loudly and the last good set stays", async () => {
    const s = setup({ policies: { main: "DENY: run ls\n" } });
    await s.rt.ready;
    const call = (h: Record<string, Handler>) =>
      h.before_tool_call({ toolName: "exec", params: { command: "ls" } }, { agentId: "main" }) as Promise<{ block?: boolean } | undefined>;
    assert.equal((await call(s.hooks))?.block, true);
    const bad = mockApi({ policies: { main: "DENY: frobnicate the quux\n" } });
    await registerGate(bad.api, { env: s.env }).ready;
    assert.ok(bad.logs.some((l) => l.includes("NEW RULE SET REFUSED")));
    assert.equal((await call(bad.hooks))?.block, true, "the last good set (deny ls) is still active");
    const good = mockApi({ policies: { main: "DENY: run git\n" } });
    await registerGate(good.api, { env: s.env }).ready;
    assert.equal(await call(good.hooks), undefined, "the new set applies");
  });

  test("redaction: the tool-result middleware (what the model sees) and tool_result_persist (what is stored, synchronous) both replace only the secret", async () => {
    const s = setup({ gatewayToken: "gw-token-1234567890abcdef" });
    await s.rt.ready;
    const text = "key AKIAIOSFODNN7EXAMPLE and token gw-token-1234567890abcdef end";
    const out = (await s.middleware()(
      { toolName: "read", toolCallId: "r1", result: { content: [{ type: "text", text }], details: { aggregated: text } } },
      {
        agentId: "main",
      },
    )) as { result: { content: { text: string }[]; details: { aggregated: string } } };
    assert.equal(out.result.content[0].text, "key [REDACTED BY SONDERA POLICY] and token [REDACTED BY SONDERA POLICY] end");
    assert.equal(out.result.details.aggregated, out.result.content[0].text);
    const persisted = s.hooks.tool_result_persist(
      { toolName: "exec", toolCallId: "p1", message: { role: "toolResult", content: [{ type: "text", text }] } },
      {},
    ) as {
      message: { content: { text: string }[] };
    };
    assert.ok(!(persisted instanceof Promise), "synchronous");
    assert.ok(persisted.message.content[0].text.includes("[REDACTED BY SONDERA POLICY]"));
    assert.equal(
      s.hooks.tool_result_persist(
        { toolName: "exec", message: { role: "toolResult", content: [{ type: "text", text: "nothing secret here" }] } },
        {},
      ),
      undefined,
    );
    const log = await lines(s.rt);
    assert.deepEqual(
      log.map((e) => [e.decision, e.toolCallId]),
      [
        ["REDACT", "r1"],
        ["REDACT", "p1"],
      ],
    );
    assert.ok(!readFileSync(s.rt.audit!.path, "utf8").includes("AKIA"));
  });

  test("enabled: false registers no hooks", () => {
    const s = setup({ enabled: false });
    assert.deepEqual(Object.keys(s.hooks), []);
  });

  test("rewrite leaves untouched values identical (no copies)", () => {
    const v = { a: ["short", { b: "nothing to see here" }] };
    assert.equal(
      rewrite(v, (x) => x),
      v,
    );
  });
});

describe("plugin config", () => {
  test("defaults: base pack on, others off, default audit path under the state dir", () => {
    const r = parseConfig(undefined, { home: "/h", stateDir: "/s" });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.config.packs, ["base"]);
    assert.equal(r.config.audit.path, "/s/.sondera/audit.log");
    assert.equal(r.config.settings.phoneMode, "unrestricted");
  });
  test("packs, settings toggles and phone rules map onto the engine's settings; errors name the field", () => {
    const r = parseConfig(
      { packs: { system: true, owasp: true }, settings: { blockBrowser: true }, phoneRules: { mode: "allowlist", patterns: ["+65*"] } },
      { home: "/h" },
    );
    assert.ok(
      r.ok && r.config.packs.join() === "base,system,owasp" && r.config.settings.blockBrowser && r.config.settings.phonePatterns[0] === "+65*",
    );
    const bad = parseConfig({ packs: { extra: true }, phoneRules: { mode: "sometimes" }, audit: { keep: 0 }, nope: 1 }, { home: "/h" });
    assert.ok(!bad.ok);
    if (bad.ok) return;
    assert.deepEqual(bad.errors.map((e) => e.split(":")[0]).sort(), ["audit.keep", "nope", "packs.extra", "phoneRules.mode"]);
  });
  test("paths: ~/.openclaw is the state dir, ~ the home, absolute paths stay", () => {
    assert.equal(resolveStatePath("~/.openclaw/x.log", { home: "/h", stateDir: "/st" }), "/st/x.log");
    assert.equal(resolveStatePath("~/.openclaw/x.log", { home: "/h" }), "/h/.openclaw/x.log");
    assert.equal(resolveStatePath("~/logs/a", { home: "/h" }), "/h/logs/a");
    assert.equal(resolveStatePath("/abs/a", { home: "/h" }), "/abs/a");
  });
});

describe("audit log", () => {
  test("JSON lines, buffered, rotated by size keeping N files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tropic-audit-"));
    const log = new AuditLog(join(dir, "audit.log"), { maxBytes: 4096, keep: 2, flushMs: 5 });
    const entry = {
      ts: new Date().toISOString(),
      phase: "call" as const,
      agentId: "main",
      tool: "exec",
      decision: "ALLOW" as const,
      rules: [],
      durationMs: 0.1,
    };
    for (let i = 0; i < 200; i++) {
      log.write({ ...entry, reason: `call ${i} ${"x".repeat(40)}` });
      if (i % 20 === 0) await log.flush();
    }
    await log.flush();
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ["audit.log", "audit.log.1", "audit.log.2"]);
    for (const f of files) for (const l of readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean)) JSON.parse(l);
    const last = readFileSync(join(dir, "audit.log"), "utf8").trim().split("\n").pop()!;
    assert.match(JSON.parse(last).reason, /call 199/);
    log.close();
  });
  test("whatever is buffered at exit is written synchronously", () => {
    const dir = mkdtempSync(join(tmpdir(), "tropic-audit-"));
    const log = new AuditLog(join(dir, "audit.log"), { maxBytes: 1 << 20, keep: 1, flushMs: 60_000 });
    log.write({ ts: "t", phase: "call", agentId: "a", tool: "t", decision: "DENY", rules: ["r"], durationMs: 0 });
    log.flushSync();
    assert.match(readFileSync(join(dir, "audit.log"), "utf8"), /"DENY"/);
    log.close();
  });
});
