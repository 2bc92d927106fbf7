// The model proxy (issue 14, docs/models.md) against a MOCK Anthropic upstream: a local node:http
// server speaking the Messages API (SSE and JSON). On the embedded database and on PostgreSQL, through
// the public route (/model-proxy/v1/…, the app listening) and through the internal listener (listen()).
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../src/config.ts";
import type { Database } from "../src/db/connect.ts";
import { instanceForModelKey, issueModelKey, revokeModelKey } from "../src/models/keys.ts";
import { MAX_BODY_BYTES, ModelProxy, type ModelProxyListener, UsageCounter } from "../src/models/proxy.ts";
import { MOCK_MODEL, MockAnthropic } from "./anthropic-mock.ts";
import { backends, signUp, type TestApp, type TestUser, testApp } from "./harness.ts";

const PLATFORM_KEY = "sk-ant-api03-PLATFORM-SECRET-do-not-leak-0123456789";
const MODEL = MOCK_MODEL;

// ---------------------------------------------------------------------------------------------
// A client that sees the response as it streams.

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** when the first content_block_delta arrived */
  firstDeltaAt?: number;
}

function post(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  o: { onFirstDelta?: () => void; abortAfterDeltas?: number; method?: string; raw?: Buffer; chunked?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = o.raw ?? Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
    const u = new URL(`${base}${path}`);
    const req = request(
      {
        hostname: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: o.method ?? "POST",
        headers: {
          "content-type": "application/json",
          "anthropic-version": "2023-06-01",
          ...(o.chunked ? {} : { "content-length": String(payload.length) }),
          ...headers,
        },
      },
      (res) => {
        const a: Answer = { status: res.statusCode ?? 0, headers: res.headers, body: "" };
        let deltas = 0;
        res.on("data", (c: Buffer) => {
          a.body += c.toString("utf8");
          const now = (a.body.match(/event: content_block_delta/g) ?? []).length;
          if (now > deltas) {
            if (deltas === 0) {
              a.firstDeltaAt = Date.now();
              o.onFirstDelta?.();
            }
            deltas = now;
            if (o.abortAfterDeltas && deltas >= o.abortAfterDeltas) {
              req.destroy();
              resolve(a);
            }
          }
        });
        res.on("end", () => resolve(a));
        res.on("error", () => resolve(a));
      },
    );
    req.on("error", (err) => (o.abortAfterDeltas ? undefined : reject(err)));
    if (o.method === "GET") req.end();
    else if (o.chunked) {
      // A body with no content-length, in 1 MB pieces.
      let off = 0;
      const next = () => {
        while (off < payload.length) {
          const piece = payload.subarray(off, off + 1024 * 1024);
          off += piece.length;
          if (!req.write(piece)) return void req.once("drain", next);
        }
        req.end();
      };
      next();
    } else req.end(payload);
  });
}

const messages = [{ role: "user", content: "hi" }];

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: users with credits and limits, instances on the platform key.

async function grant(db: Database, ownerId: string, credits: number) {
  await db.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'grant', $2, $3)", [
    ownerId,
    credits * 1000,
    `grant:${crypto.randomUUID()}`,
  ]);
}

async function settings(db: Database, ownerId: string, s: { cap?: number | null; session?: number | null }) {
  await db.pool.query(
    `INSERT INTO user_settings (owner_id, daily_credit_cap, max_session_minutes) VALUES ($1, $2, $3)
     ON CONFLICT (owner_id) DO UPDATE SET daily_credit_cap = excluded.daily_credit_cap, max_session_minutes = excluded.max_session_minutes`,
    [ownerId, s.cap ?? null, s.session ?? null],
  );
}

async function instance(db: Database, ownerId: string, o: { desired?: string; platformKey?: boolean; startedAt?: Date } = {}): Promise<string> {
  const id = crypto.randomUUID();
  await db.pool.query(
    `INSERT INTO instances (id, owner_id, name, provider, region, instance_type, desired_state, state, started_at, uses_platform_key)
     VALUES ($1, $2, $3, 'aws', 'us-east-1', 't3.micro', $4, $5, $6, $7)`,
    [
      id,
      ownerId,
      `mp-${id.slice(0, 8)}`,
      o.desired ?? "running",
      o.desired === "stopped" ? "stopped" : "running",
      o.startedAt ?? new Date(),
      o.platformKey ?? true,
    ],
  );
  return id;
}

async function usageRows(db: Database, instanceId: string) {
  const { rows } = await db.pool.query<{ owner_id: string; agent: string | null; model: string; input_tokens: number; output_tokens: number }>(
    "SELECT owner_id, agent, model, input_tokens, output_tokens FROM model_usage WHERE instance_id = $1 ORDER BY created_at",
    [instanceId],
  );
  return rows;
}

const silent = { info() {}, warn() {}, error() {} };

// ---------------------------------------------------------------------------------------------

test("UsageCounter reads usage from SSE split anywhere, and from JSON", () => {
  const sse =
    'event: message_start\ndata: {"type":"message_start","message":{"model":"m1","usage":{"input_tokens":12,"output_tokens":1}}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"a"}}\n\n' +
    'event: message_delta\r\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\r\n\r\n' +
    'event: message_stop\ndata: {"type":"message_stop"}\n\n';
  for (const size of [1, 3, 17, sse.length]) {
    const c = new UsageCounter("text/event-stream");
    const bytes = Buffer.from(sse);
    for (let i = 0; i < bytes.length; i += size) c.feed(bytes.subarray(i, i + size));
    c.end();
    assert.deepEqual([c.model, c.inputTokens, c.countedOutput, c.finished], ["m1", 12, 9, true], `chunk size ${size}`);
  }
  const cut = new UsageCounter("text/event-stream");
  cut.feed(Buffer.from(sse.slice(0, sse.indexOf("event: message_delta"))));
  assert.equal(cut.countedOutput, 1, "a stream cut before message_delta counts at least one token per delta received");
  const j = new UsageCounter("application/json");
  j.feed(Buffer.from('{"model":"m2","usage":{"input_tokens":3,'));
  j.feed(Buffer.from('"output_tokens":4}}'));
  j.end();
  assert.deepEqual([j.model, j.inputTokens, j.countedOutput], ["m2", 3, 4]);
});

test("TROPIC_MODEL_UPSTREAM: default, a custom URL, and a bad value named in the error", () => {
  assert.equal(loadConfig({}).modelUpstream, "https://api.anthropic.com");
  assert.equal(loadConfig({ TROPIC_MODEL_UPSTREAM: "http://127.0.0.1:9999/" }).modelUpstream, "http://127.0.0.1:9999");
  assert.throws(() => loadConfig({ TROPIC_MODEL_UPSTREAM: "not a url" }), /TROPIC_MODEL_UPSTREAM must be an http\(s\) URL/);
  assert.throws(() => loadConfig({ TROPIC_MODEL_UPSTREAM: "ftp://x" }), /TROPIC_MODEL_UPSTREAM/);
  assert.throws(
    () => loadConfig({ TROPIC_MODEL_UPSTREAM: "https://user:secretpw@example.com" }),
    (err: Error) => /TROPIC_MODEL_UPSTREAM/.test(err.message) && !err.message.includes("secretpw"),
  );
});

for (const kind of await backends()) {
  describe(`[${kind}] model proxy with a MOCK Anthropic upstream`, () => {
    const mock = new MockAnthropic();
    let h: TestApp;
    let db: Database;
    let alice: TestUser;
    let bob: TestUser;
    let publicBase: string;
    let internal: ModelProxyListener;
    let internalBase: string;
    let inst: string;
    let key: string;

    before(async () => {
      await mock.start();
      h = await testApp(kind, { platformAnthropicKey: PLATFORM_KEY, modelUpstream: mock.url });
      db = h.database;
      await h.app.listen({ port: 0, host: "127.0.0.1" });
      publicBase = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
      internal = await h.app.modelProxy.listen();
      internalBase = `http://127.0.0.1:${internal.port}`;
      alice = await signUp(h.app);
      bob = await signUp(h.app);
      await grant(db, alice.id, 100);
      inst = await instance(db, alice.id);
      key = await issueModelKey(db.db, inst);
    });
    after(async () => {
      await h?.close();
      await mock.stop();
    });

    const via = () =>
      [
        ["public route", () => `${publicBase}/model-proxy`],
        ["internal listener", () => internalBase],
      ] as const;

    test("credentials: tmk_ + 64 hex, only the hash stored, looked up to their instance", async () => {
      assert.match(key, /^tmk_[0-9a-f]{64}$/);
      const { rows } = await db.pool.query("SELECT model_key_hash FROM instances WHERE id = $1", [inst]);
      assert.equal(rows[0].model_key_hash.length, 64);
      assert.notEqual(rows[0].model_key_hash, key.slice(4));
      assert.deepEqual(await instanceForModelKey(db.db, key), { instanceId: inst, ownerId: alice.id });
      assert.equal(await instanceForModelKey(db.db, `tmk_${"0".repeat(64)}`), null);
      assert.equal(await instanceForModelKey(db.db, "tmk_short"), null);
    });

    for (const [name, base] of via()) {
      test(`${name}: a streamed answer from the MOCK passes through chunk by chunk, usage recorded`, async () => {
        const before = mock.seen.length;
        const a = await post(
          base(),
          "/v1/messages?beta=true",
          { model: MODEL, stream: true, chunks: 6, gate: true, messages },
          {
            "x-api-key": key,
            cookie: "tropic_session=tps_secret-cookie",
            "x-other": "nope",
            "user-agent": "Anthropic/JS 0.60",
            "anthropic-beta": "tools-2024",
          },
          { onFirstDelta: () => mock.release() },
        );
        assert.equal(a.status, 200);
        assert.match(String(a.headers["content-type"]), /^text\/event-stream/);
        // The mock held its second delta until the client had the first: nothing buffered the stream.
        const seen = mock.seen[before]!;
        assert.ok(a.firstDeltaAt! <= seen.endedAt!, "the first delta reached the client before the MOCK sent the last one");
        assert.ok(a.firstDeltaAt! < seen.deltasAt[1]!, "the first delta reached the client before the MOCK sent the second one");
        assert.equal((a.body.match(/event: content_block_delta/g) ?? []).length, 6);
        assert.match(a.body, /event: message_stop/);
        // What the upstream got: the platform key and the allowed headers, nothing of the client's.
        assert.equal(seen.path, "/v1/messages?beta=true");
        assert.equal(seen.headers["x-api-key"], PLATFORM_KEY);
        assert.equal(seen.headers["anthropic-version"], "2023-06-01");
        assert.equal(seen.headers["anthropic-beta"], "tools-2024");
        for (const h of ["cookie", "authorization", "x-other", "user-agent", "x-tropic-agent"]) assert.equal(seen.headers[h], undefined, h);
        assert.ok(!JSON.stringify(seen.headers).includes(key), "the instance's credential never reaches the upstream");
        assert.deepEqual(JSON.parse(seen.body).messages, messages, "the body arrives unchanged");
        // What the client got: never the platform key, nor the platform's rate-limit headers.
        assert.ok(!a.body.includes(PLATFORM_KEY) && !JSON.stringify(a.headers).includes(PLATFORM_KEY));
        const rows = await waitFor("usage row", async () => {
          const r = await usageRows(db, inst);
          return r.length ? r : null;
        });
        const last = rows.at(-1)!;
        assert.deepEqual(
          { owner: last.owner_id, model: last.model, in: last.input_tokens, out: last.output_tokens, agent: last.agent },
          { owner: alice.id, model: MODEL, in: 25, out: 18, agent: null },
        );
        await db.pool.query("DELETE FROM model_usage WHERE instance_id = $1", [inst]);
      });

      test(`${name}: a JSON answer from the MOCK, usage per agent; Authorization: Bearer works too`, async () => {
        const a = await post(base(), "/v1/messages", { model: MODEL, messages }, { authorization: `Bearer ${key}`, "x-tropic-agent": "main" });
        assert.equal(a.status, 200);
        assert.equal(JSON.parse(a.body).usage.output_tokens, 7);
        assert.equal(a.headers["request-id"], "req_mock");
        assert.equal(a.headers["anthropic-ratelimit-tokens-limit"], undefined, "the platform account's rate limits are not shown");
        const rows = await waitFor("usage row", async () => {
          const r = await usageRows(db, inst);
          return r.length ? r : null;
        });
        assert.deepEqual(
          rows.map((r) => [r.agent, r.model, r.input_tokens, r.output_tokens]),
          [["main", MODEL, 11, 7]],
        );
        await db.pool.query("DELETE FROM model_usage WHERE instance_id = $1", [inst]);
      });
    }

    test("count_tokens is forwarded and records no usage; an upstream error passes through unchanged", async () => {
      const c = await post(internalBase, "/v1/messages/count_tokens", { model: MODEL, messages }, { "x-api-key": key });
      assert.equal(c.status, 200);
      assert.deepEqual(JSON.parse(c.body), { input_tokens: 42 });
      assert.equal(mock.seen.at(-1)!.path, "/v1/messages/count_tokens");
      const e = await post(`${publicBase}/model-proxy`, "/v1/messages", { model: MODEL, messages, status: 529 }, { "x-api-key": key });
      assert.equal(e.status, 529);
      assert.equal(JSON.parse(e.body).error.type, "overloaded_error");
      assert.equal(e.headers["anthropic-ratelimit-requests-limit"], undefined);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(await usageRows(db, inst), []);
    });

    test("a client that goes away mid-stream: the MOCK's request is aborted, the tokens so far recorded", async () => {
      const before = mock.seen.length;
      const a = await post(
        internalBase,
        "/v1/messages",
        { model: MODEL, stream: true, chunks: 50, hang: true, messages },
        { "x-api-key": key },
        { abortAfterDeltas: 2 },
      );
      assert.equal(a.status, 200);
      await waitFor("the MOCK to see the abort", async () => mock.seen[before]?.aborted);
      const rows = await waitFor("usage row", async () => {
        const r = await usageRows(db, inst);
        return r.length ? r : null;
      });
      assert.deepEqual(
        rows.map((r) => [r.model, r.input_tokens, r.output_tokens]),
        [[MODEL, 25, 2]],
        "input from message_start, output at least one per delta received",
      );
      await db.pool.query("DELETE FROM model_usage WHERE instance_id = $1", [inst]);
    });

    test("bad, missing and revoked credentials get 401 authentication_error; rotation ends the old one", async () => {
      const bad: Record<string, string>[] = [
        {},
        { "x-api-key": "sk-ant-whatever" },
        { "x-api-key": `tmk_${"a".repeat(64)}` },
        { authorization: "Basic abc" },
      ];
      for (const headers of bad) {
        const a = await post(publicBase, "/model-proxy/v1/messages", { model: MODEL, messages }, headers);
        assert.equal(a.status, 401, JSON.stringify(headers));
        assert.equal(JSON.parse(a.body).type, "error");
        assert.equal(JSON.parse(a.body).error.type, "authentication_error");
      }
      const other = await instance(db, alice.id);
      const k1 = await issueModelKey(db.db, other);
      assert.equal((await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": k1 })).status, 200);
      const k2 = await issueModelKey(db.db, other);
      assert.equal((await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": k1 })).status, 401, "rotated");
      assert.equal((await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": k2 })).status, 200);
      await revokeModelKey(db.db, other);
      const r = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": k2 });
      assert.equal(r.status, 401, "revoked");
      assert.equal(JSON.parse(r.body).error.type, "authentication_error");
    });

    test("an instance whose delete was requested: its credential gets 401 at once", async () => {
      const doomed = await instance(db, alice.id);
      const k = await issueModelKey(db.db, doomed);
      assert.equal((await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": k })).status, 200);
      const del = await h.app.inject({ method: "DELETE", url: `/api/v1/instances/${doomed}`, headers: alice.auth });
      assert.equal(del.statusCode, 202);
      const a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": k });
      assert.equal(a.status, 401);
      assert.equal(JSON.parse(a.body).error.type, "authentication_error");
      assert.equal(await instanceForModelKey(db.db, k), null);
      await assert.rejects(issueModelKey(db.db, doomed), /being deleted/);
    });

    test("limits at the request: paused, daily cap, session runtime and no credits get 429 naming the limit; stopped gets 403", async () => {
      // Daily cap: 1 credit, 2 already spent today → the check pauses the instance and the request is refused.
      const capped = await signUp(h.app);
      await grant(db, capped.id, 100);
      await settings(db, capped.id, { cap: 1 });
      await db.pool.query(
        "INSERT INTO credit_ledger (owner_id, kind, amount_milli, window_start, idempotency_key) VALUES ($1, 'compute', -2000, now(), $2)",
        [capped.id, `compute:test:${crypto.randomUUID()}`],
      );
      const ci = await instance(db, capped.id);
      const ck = await issueModelKey(db.db, ci);
      let a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": ck });
      assert.equal(a.status, 429);
      assert.equal(JSON.parse(a.body).error.type, "rate_limit_error");
      assert.match(JSON.parse(a.body).error.message, /your daily credit cap of 1 credits is reached/);
      const { rows } = await db.pool.query("SELECT pause_reason, desired_state FROM instances WHERE id = $1", [ci]);
      assert.deepEqual(rows[0], { pause_reason: "daily_cap", desired_state: "stopped" }, "the check paused it, as the meter would");

      // Max session runtime: 1 minute, started 2 minutes ago.
      const runner = await signUp(h.app);
      await grant(db, runner.id, 100);
      await settings(db, runner.id, { session: 1 });
      const ri = await instance(db, runner.id, { startedAt: new Date(Date.now() - 2 * 60_000) });
      a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": await issueModelKey(db.db, ri) });
      assert.equal(a.status, 429);
      assert.match(JSON.parse(a.body).error.message, /your max session runtime of 1 minutes is reached/);

      // No credits: the balance is 0 and the instance costs credits.
      const broke = await signUp(h.app);
      await db.pool.query("INSERT INTO credit_ledger (owner_id, kind, amount_milli, idempotency_key) VALUES ($1, 'adjustment', $2, $3)", [
        broke.id,
        -(
          ((await db.pool.query("SELECT coalesce(sum(amount_milli), 0)::bigint AS b FROM credit_ledger WHERE owner_id = $1", [broke.id])).rows[0]
            .b as number) || 0
        ),
        `adj:${crypto.randomUUID()}`,
      ]);
      const bi = await instance(db, broke.id);
      a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": await issueModelKey(db.db, bi) });
      assert.equal(a.status, 429);
      assert.match(JSON.parse(a.body).error.message, /your credit balance is 0 credits/);

      // Already paused by the meter (within the proxy's 5 s cache of the owner's check): refused from the row.
      const pi = await instance(db, capped.id);
      const pk = await issueModelKey(db.db, pi);
      await db.pool.query("UPDATE instances SET desired_state = 'stopped', pause_reason = 'daily_cap' WHERE id = $1", [pi]);
      a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": pk });
      assert.equal(a.status, 429);
      assert.match(JSON.parse(a.body).error.message, /daily credit cap of 1 credits/);

      // Stopped by its owner: 403 permission_error.
      const si = await instance(db, alice.id, { desired: "stopped" });
      a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": await issueModelKey(db.db, si) });
      assert.equal(a.status, 403);
      assert.equal(JSON.parse(a.body).error.type, "permission_error");
      assert.match(JSON.parse(a.body).error.message, /stopped: start it/);

      // On the owner's own key: the platform's proxy is not theirs to use.
      const oi = await instance(db, alice.id, { platformKey: false });
      a = await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": await issueModelKey(db.db, oi) });
      assert.equal(a.status, 403);
      assert.match(JSON.parse(a.body).error.message, /own Claude key/);
    });

    test("no platform key configured: 503 api_error naming it", async () => {
      const p = new ModelProxy({ database: db, log: silent, upstream: mock.url, platformKey: undefined });
      const l = await p.listen();
      try {
        const a = await post(`http://127.0.0.1:${l.port}`, "/v1/messages", { model: MODEL, messages }, { "x-api-key": key });
        assert.equal(a.status, 503);
        assert.equal(JSON.parse(a.body).error.type, "api_error");
        assert.match(JSON.parse(a.body).error.message, /operator has configured no platform key/);
      } finally {
        await p.close();
      }
    });

    test("upstream down: 502 api_error, the platform key in neither the body nor the logs", async () => {
      const dead = createServer();
      await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((r) => dead.close(() => r()));
      const p = new ModelProxy({ database: db, log: h.app.log, upstream: `http://127.0.0.1:${port}`, platformKey: PLATFORM_KEY });
      const l = await p.listen();
      const logsBefore = h.logs.length;
      try {
        const a = await post(`http://127.0.0.1:${l.port}`, "/v1/messages", { model: MODEL, stream: true, messages }, { "x-api-key": key });
        assert.equal(a.status, 502);
        assert.equal(JSON.parse(a.body).error.type, "api_error");
        assert.ok(!a.body.includes(PLATFORM_KEY) && !a.body.includes(key));
        const logged = h.logs.slice(logsBefore).join("");
        assert.match(logged, /upstream unreachable/);
        assert.ok(!logged.includes(PLATFORM_KEY), "the platform key is not logged");
        assert.ok(!logged.includes(key), "the credential is not logged");
      } finally {
        await p.close();
      }
      assert.ok(!h.logs.join("").includes(PLATFORM_KEY), "nothing logged the platform key");
    });

    test("unknown paths get 404 not_found_error in Anthropic's shape", async () => {
      for (const [base, path, method] of [
        [publicBase, "/model-proxy/v1/complete", "POST"],
        [publicBase, "/model-proxy/v1/messages/batches", "POST"],
        [internalBase, "/v1/models", "GET"],
        [internalBase, "/v1/messages", "GET"],
      ] as const) {
        const a = await post(base, path, "", { "x-api-key": key }, { method });
        assert.equal(a.status, 404, `${method} ${path}`);
        assert.deepEqual(JSON.parse(a.body).type, "error");
        assert.equal(JSON.parse(a.body).error.type, "not_found_error");
      }
    });

    test("a body over 10 MB gets 413 request_too_large (declared or streamed), and nothing reaches the MOCK", async () => {
      const big = Buffer.alloc(MAX_BODY_BYTES + 1024, 0x61);
      const seen = mock.seen.length;
      for (const [base, path, chunked] of [
        [publicBase, "/model-proxy/v1/messages", false],
        [internalBase, "/v1/messages", false],
        [internalBase, "/v1/messages", true],
      ] as const) {
        const a = await post(base, path, null, { "x-api-key": key }, { raw: big, chunked });
        assert.equal(a.status, 413, `${path} chunked=${chunked}`);
        assert.equal(JSON.parse(a.body).error.type, "request_too_large");
      }
      assert.ok(
        mock.seen.slice(seen).every((s) => s.body.length <= MAX_BODY_BYTES),
        "no full oversized body was forwarded",
      );
    });

    test("the internal listener serves only the proxy routes", async () => {
      for (const path of ["/", "/healthz", "/api/v1/me", "/api/openapi.json", "/model-proxy/../api/v1/me"]) {
        const a = await post(internalBase, path, "", { authorization: alice.auth.authorization, cookie: alice.cookie }, { method: "GET" });
        assert.equal(a.status, 404, path);
        assert.equal(JSON.parse(a.body).error.type, "not_found_error");
      }
      // …with or without the /model-proxy prefix.
      assert.equal((await post(internalBase, "/model-proxy/v1/messages", { model: MODEL, messages }, { "x-api-key": key })).status, 200);
      // Usage is recorded after the answer: wait for the row so it cannot land in the next test.
      await waitFor("the usage row", async () => (await usageRows(db, inst)).length === 1);
      await db.pool.query("DELETE FROM model_usage WHERE instance_id = $1", [inst]);
    });

    test("the usage API: totals today and this month, per model and agent, beside the rates; 404 for another user", async () => {
      await db.pool.query("DELETE FROM model_usage WHERE instance_id = $1", [inst]);
      await post(internalBase, "/v1/messages", { model: MODEL, messages }, { "x-api-key": key, "x-tropic-agent": "main" });
      await post(internalBase, "/v1/messages", { model: "claude-haiku-4-5", messages }, { "x-api-key": key });
      await post(internalBase, "/v1/messages", { model: MODEL, stream: true, chunks: 3, messages }, { "x-api-key": key });
      // One from last month: in neither total.
      await db.pool.query(
        "INSERT INTO model_usage (id, owner_id, instance_id, model, input_tokens, output_tokens, created_at) VALUES ($1, $2, $3, $4, 1000, 1000, now() - interval '40 days')",
        [crypto.randomUUID(), alice.id, inst, MODEL],
      );
      await waitFor("four usage rows (three now, one last month)", async () => (await usageRows(db, inst)).length === 4);
      const res = await h.app.inject({ url: `/api/v1/instances/${inst}/model-usage`, headers: alice.auth });
      assert.equal(res.statusCode, 200, res.body);
      const u = res.json();
      assert.deepEqual(u.today, { since: u.today.since, inputTokens: 11 + 11 + 25, outputTokens: 7 + 7 + 9, requests: 3 });
      assert.deepEqual({ ...u.month, since: undefined }, { since: undefined, inputTokens: 47, outputTokens: 23, requests: 3 });
      assert.deepEqual(
        u.byModel.map((m: { model: string; inputTokens: number; outputTokens: number; requests: number }) => [
          m.model,
          m.inputTokens,
          m.outputTokens,
          m.requests,
        ]),
        [
          [MODEL, 36, 16, 2],
          ["claude-haiku-4-5", 11, 7, 1],
        ],
      );
      assert.deepEqual(
        u.byAgent.map((a: { agent: string | null; requests: number }) => [a.agent, a.requests]).sort(),
        [
          ["main", 1],
          [null, 2],
        ].sort(),
      );
      assert.deepEqual(u.rates, {
        instanceType: "t3.micro",
        usesPlatformKey: true,
        compute: 5,
        model: 50,
        total: 55,
        models: [{ model: "anthropic/claude-sonnet-4-6", creditsPerHour: 50 }],
      });
      const other = await h.app.inject({ url: `/api/v1/instances/${inst}/model-usage`, headers: bob.auth });
      assert.equal(other.statusCode, 404);
      const none = await h.app.inject({ url: `/api/v1/instances/${inst}/model-usage` });
      assert.equal(none.statusCode, 401);
      const doc = (await h.app.inject("/api/openapi.json")).json() as { paths: Record<string, unknown> };
      assert.ok(doc.paths["/api/v1/instances/{id}/model-usage"], "the usage API is in the OpenAPI document");
      assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith("/model-proxy")), "the proxy routes are not");
    });
  });
}
