// The model proxy (issue 14, docs/models.md): an Anthropic-Messages-compatible endpoint the control
// plane serves to instances that have no Claude key of their own. It authenticates the instance's own
// credential (tmk_…, models/keys.ts), refuses when the owner's limits say so, and forwards the request
// to Anthropic with the platform key, which therefore never reaches an instance. Tokens are counted
// per request (model_usage) from the response as it streams past, without delaying it.
//
// A plain node:http handler, so it can be mounted anywhere: the public route /model-proxy/v1/… for
// cloud instances (routes/model-proxy.ts) and an internal listener (listen()) the agents' tunnels are
// joined to.
import { type Agent as HttpAgent, Agent, createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { checkLimits } from "../credits/meter.ts";
import { loadRates, type Rates } from "../credits/rates.ts";
import type { Database } from "../db/connect.ts";
import { modelUsage } from "../db/schema.ts";
import { constantTimeEqual, sha256Hex } from "../lib/tokens.ts";
import { looksLikeModelKey } from "./keys.ts";

export const DEFAULT_MODEL_UPSTREAM = "https://api.anthropic.com";
/** The largest request body forwarded (Anthropic's own limit for the Messages API is 32 MB; ours is smaller). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** How long one owner's limits check (checkLimits) counts for the requests that follow. */
export const LIMITS_TTL_MS = 5000;
/** A JSON (non-streamed) answer larger than this is forwarded but not parsed for usage. */
const MAX_PARSED_JSON = 4 * 1024 * 1024;
/** An upstream that sends nothing for this long is given up on. */
const UPSTREAM_IDLE_MS = 10 * 60_000;
/** The routes OpenClaw's Anthropic provider (and Anthropic's SDKs) use; with or without /model-proxy. */
const ROUTE = /^(?:\/model-proxy)?(\/v1\/messages(?:\/count_tokens)?)\/?(\?.*)?$/;
/** Request headers that reach the upstream; everything else (credential, cookies, …) stays here. */
const FORWARDED_REQUEST_HEADERS = ["anthropic-version", "anthropic-beta", "content-type", "accept"] as const;
/** Response headers passed back besides the status and body. No rate-limit headers: they describe the platform's account. */
const FORWARDED_RESPONSE_HEADERS = ["content-type", "retry-after", "request-id", "x-should-retry"] as const;
/** The optional attribution header (OpenClaw does not send one yet). */
export const AGENT_HEADER = "x-tropic-agent";
const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

export interface ModelProxyLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ModelProxyOptions {
  database: Database;
  log: ModelProxyLog;
  /** the Anthropic API's base URL (TROPIC_MODEL_UPSTREAM); tests point it at a scripted server */
  upstream?: string;
  /** the platform's Claude key (TROPIC_PLATFORM_ANTHROPIC_KEY); without it every request gets 503 */
  platformKey: string | undefined;
  /** the credit rates the limits are checked with (default: loadRates()); a function is called per check */
  rates?: Rates | (() => Rates);
  /** told about every instance the limits check paused or resumed (the reconciler's kick) */
  changed?: (instanceId: string) => unknown;
  /** test hook: how long a limits check counts (default LIMITS_TTL_MS) */
  limitsTtlMs?: number;
}

type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error";

/** Anthropic's error shape, so SDKs and OpenClaw show the message as they show Anthropic's own. */
export function anthropicError(type: AnthropicErrorType, message: string): string {
  return JSON.stringify({ type: "error", error: { type, message } });
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly type: AnthropicErrorType,
    message: string,
  ) {
    super(message);
  }
}

/** What one request is attributed to, and the state its limits are read from. */
interface Caller {
  instanceId: string;
  ownerId: string;
  hash: string;
  desiredState: string;
  usesPlatformKey: boolean;
  pauseReason: string | null;
  pausedUntil: Date | null;
  stateReason: string | null;
  instanceType: string;
  dailyCreditCap: number | null;
  maxSessionMinutes: number | null;
  balanceMilli: number;
  spentTodayMilli: number;
}

// One statement per request: the credential's instance, its state and its owner's limits. A
// deleted or deleting instance never matches, so a delete ends the credential at once.
const CALLER_SQL = `
SELECT i.id AS instance_id, i.owner_id, i.model_key_hash AS hash, i.desired_state, i.uses_platform_key,
       i.pause_reason, i.paused_until, i.state_reason, i.instance_type,
       s.daily_credit_cap, s.max_session_minutes,
       coalesce(b.balance_milli, 0) AS balance_milli, coalesce(d.spent_milli, 0) AS spent_today_milli
  FROM instances i
  LEFT JOIN user_settings s ON s.owner_id = i.owner_id
  LEFT JOIN credit_balances b ON b.owner_id = i.owner_id
  LEFT JOIN credit_daily_spend d ON d.owner_id = i.owner_id AND d.day = (now() AT TIME ZONE 'UTC')::date
 WHERE i.model_key_hash = $1 AND i.desired_state <> 'deleted' AND i.deleted_at IS NULL
 LIMIT 1`;

const credits = (milli: number) => String(Math.round(Number(milli)) / 1000);

/** The limit that stops this instance now, in the user's words; null when none does. */
export function limitMessage(c: Omit<Caller, "hash">): string | null {
  switch (c.pauseReason) {
    case null:
      return null;
    case "daily_cap":
      return c.dailyCreditCap !== null
        ? `your daily credit cap of ${c.dailyCreditCap} credits is reached (${credits(c.spentTodayMilli)} spent today); model requests resume ${
            c.pausedUntil ? `at ${c.pausedUntil.toISOString()}` : "tomorrow (UTC)"
          } or when you raise or clear the cap in Settings`
        : `your daily credit cap is reached; ${c.stateReason ?? "model requests resume tomorrow (UTC)"}`;
    case "session_limit":
      return c.maxSessionMinutes !== null
        ? `your max session runtime of ${c.maxSessionMinutes} minutes is reached; start the instance again, or raise or clear the limit in Settings`
        : `your max session runtime is reached; ${c.stateReason ?? "start the instance again"}`;
    case "no_credits":
      return `your credit balance is ${credits(c.balanceMilli)} credits; model requests resume once credits are added`;
    case "no_rate":
      return `this instance's type "${c.instanceType}" has no credit rate, so it cannot be metered; ask the operator`;
    default:
      return `this instance is paused by the credit meter (${c.pauseReason})${c.stateReason ? `: ${c.stateReason}` : ""}`;
  }
}

/** Reads `usage` and `model` from a Messages answer as it streams past (SSE) or at its end (JSON). */
export class UsageCounter {
  model: string | null = null;
  inputTokens = 0;
  outputTokens = 0;
  /** content_block_delta events seen: a floor for output tokens when the stream ends before message_delta */
  deltas = 0;
  finished = false;
  private readonly sse: boolean;
  private readonly json: boolean;
  private pending = "";
  private event = "";
  private decoder = new TextDecoder();
  private jsonChunks: Buffer[] = [];
  private jsonBytes = 0;

  constructor(contentType: string | undefined) {
    const ct = (contentType ?? "").toLowerCase();
    this.sse = ct.includes("text/event-stream");
    this.json = !this.sse && ct.includes("json");
  }

  feed(chunk: Buffer): void {
    if (this.sse) {
      const text = this.pending + this.decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        this.line(text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl));
        start = nl + 1;
      }
      this.pending = text.slice(start);
      // A line longer than any event Anthropic sends is not worth keeping.
      if (this.pending.length > MAX_PARSED_JSON) this.pending = "";
    } else if (this.json) {
      this.jsonBytes += chunk.length;
      if (this.jsonBytes <= MAX_PARSED_JSON) this.jsonChunks.push(chunk);
      else this.jsonChunks = [];
    }
  }

  /** The upstream's answer ended: parse a JSON body. */
  end(): void {
    if (this.json && this.jsonBytes <= MAX_PARSED_JSON && this.jsonChunks.length) {
      try {
        const body = JSON.parse(Buffer.concat(this.jsonChunks).toString("utf8")) as { model?: unknown; usage?: Record<string, unknown> };
        if (typeof body.model === "string") this.model = body.model;
        this.take(body.usage);
        this.finished = true;
      } catch {
        // not a Messages answer: nothing counted
      }
      this.jsonChunks = [];
    }
  }

  private line(line: string): void {
    if (line === "") {
      this.event = "";
      return;
    }
    if (line.startsWith("event:")) {
      this.event = line.slice(6).trim();
      if (this.event === "content_block_delta") this.deltas++;
      return;
    }
    if (!line.startsWith("data:")) return;
    const data = line.slice(5).trimStart();
    // Only the two events that carry usage are parsed (every text delta would cost a JSON.parse).
    const head = this.event || data.slice(0, 40);
    if (!head.includes("message_start") && !head.includes("message_delta") && !head.includes("message_stop")) {
      if (!this.event && head.includes("content_block_delta")) this.deltas++;
      return;
    }
    if (head.includes("message_stop")) {
      this.finished = true;
      return;
    }
    try {
      const ev = JSON.parse(data) as {
        type?: string;
        message?: { model?: unknown; usage?: Record<string, unknown> };
        usage?: Record<string, unknown>;
      };
      if (ev.type === "message_start") {
        if (typeof ev.message?.model === "string") this.model = ev.message.model;
        this.take(ev.message?.usage);
      } else if (ev.type === "message_delta") {
        this.take(ev.usage);
      }
    } catch {
      // a malformed event: forwarded as is, not counted
    }
  }

  private take(usage: Record<string, unknown> | undefined): void {
    if (!usage) return;
    const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.min(Math.floor(v), 2_000_000_000) : undefined);
    const input = n(usage.input_tokens);
    const output = n(usage.output_tokens);
    // message_delta's counts are cumulative: the larger is the newer.
    if (input !== undefined) this.inputTokens = Math.max(this.inputTokens, input);
    if (output !== undefined) this.outputTokens = Math.max(this.outputTokens, output);
  }

  /** The output tokens to record: the upstream's count, or, for a stream cut before its final count, at least one per delta received. */
  get countedOutput(): number {
    return this.finished ? this.outputTokens : Math.max(this.outputTokens, this.deltas);
  }
}

export interface ModelProxyListener {
  port: number;
  close(): Promise<void>;
}

export class ModelProxy {
  private readonly database: Database;
  private readonly log: ModelProxyLog;
  private readonly upstream: URL;
  private readonly platformKey: string | undefined;
  private readonly rates: Rates | (() => Rates) | undefined;
  private readonly changed: ((instanceId: string) => unknown) | undefined;
  private readonly limitsTtlMs: number;
  private readonly agent: HttpAgent;
  private readonly limitsChecked = new Map<string, { at: number; running?: Promise<void> }>();
  private readonly listeners = new Set<ModelProxyListener>();

  constructor(o: ModelProxyOptions) {
    this.database = o.database;
    this.log = o.log;
    const raw = o.upstream ?? DEFAULT_MODEL_UPSTREAM;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`the model upstream must be an http(s) URL, got "${raw}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`the model upstream must be an http(s) URL, got "${raw}"`);
    this.upstream = url;
    this.platformKey = o.platformKey || undefined;
    this.rates = o.rates;
    this.changed = o.changed;
    this.limitsTtlMs = o.limitsTtlMs ?? LIMITS_TTL_MS;
    const agentOpts = { keepAlive: true, maxSockets: 256, timeout: UPSTREAM_IDLE_MS };
    this.agent = url.protocol === "https:" ? new HttpsAgent(agentOpts) : new Agent(agentOpts);
  }

  /** A node:http handler for POST /v1/messages and /v1/messages/count_tokens (optionally under /model-proxy). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.serve(req, res);
    } catch (err) {
      if (err instanceof Refusal) return this.refuse(req, res, err.status, err.type, err.message);
      this.log.error({ err: { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code } }, "model proxy: request failed");
      this.refuse(req, res, 500, "api_error", "internal error in Tropic's model proxy; the server log has the details");
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = ROUTE.exec(req.url ?? "");
    if (!m || req.method !== "POST")
      throw new Refusal(
        404,
        "not_found_error",
        `no route ${req.method} ${(req.url ?? "").split("?")[0]}: this endpoint serves POST /v1/messages and /v1/messages/count_tokens`,
      );
    const path = m[1]!;
    const query = m[2] ?? "";

    const caller = await this.authenticate(req);
    if (!this.platformKey)
      throw new Refusal(
        503,
        "api_error",
        "the operator has configured no platform key (TROPIC_PLATFORM_ANTHROPIC_KEY): add your own Claude key in Tropic instead",
      );
    const c = await this.admit(caller);

    const agentHeader = req.headers[AGENT_HEADER];
    let agent: string | null = null;
    if (agentHeader !== undefined) {
      if (typeof agentHeader !== "string" || !AGENT_NAME.test(agentHeader))
        throw new Refusal(400, "invalid_request_error", `${AGENT_HEADER} must be an agent's name: 1-80 letters, digits, dots, dashes or underscores`);
      agent = agentHeader;
    }
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();

    await this.forward(req, res, { path, query, instanceId: c.instanceId, ownerId: c.ownerId, agent, record: path === "/v1/messages" });
  }

  /** The credential from x-api-key or Authorization: Bearer, resolved to its instance and state. */
  private async authenticate(req: IncomingMessage): Promise<Caller> {
    let key = req.headers["x-api-key"];
    if (Array.isArray(key)) key = undefined;
    if (!key) {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
      key = m?.[1];
    }
    if (!key) throw new Refusal(401, "authentication_error", "no credential: send the instance's model credential (tmk_…) in x-api-key");
    if (!looksLikeModelKey(key)) throw new Refusal(401, "authentication_error", "invalid credential: not a Tropic model credential (tmk_…)");
    const caller = await this.lookup(sha256Hex(key));
    if (!caller) throw new Refusal(401, "authentication_error", "invalid credential: unknown or revoked, or its instance is being deleted");
    return caller;
  }

  private async lookup(hash: string): Promise<Caller | null> {
    const { rows } = await this.database.pool.query(CALLER_SQL, [hash]);
    const r = rows[0] as Record<string, unknown> | undefined;
    if (!r || typeof r.hash !== "string" || !constantTimeEqual(r.hash, hash)) return null;
    return {
      instanceId: r.instance_id as string,
      ownerId: r.owner_id as string,
      hash: r.hash,
      desiredState: r.desired_state as string,
      usesPlatformKey: r.uses_platform_key as boolean,
      pauseReason: (r.pause_reason as string | null) ?? null,
      pausedUntil: (r.paused_until as Date | null) ?? null,
      stateReason: (r.state_reason as string | null) ?? null,
      instanceType: r.instance_type as string,
      dailyCreditCap: (r.daily_credit_cap as number | null) ?? null,
      maxSessionMinutes: (r.max_session_minutes as number | null) ?? null,
      balanceMilli: Number(r.balance_milli ?? 0),
      spentTodayMilli: Number(r.spent_today_milli ?? 0),
    };
  }

  /**
   * The limits, at the request: the owner's are checked (which pauses or resumes instances, as the
   * meter's tick does) at most once per LIMITS_TTL_MS, then this instance's state decides.
   */
  private async admit(c: Caller): Promise<Caller> {
    if (await this.checkOwner(c.ownerId)) c = (await this.lookup(c.hash)) ?? failClosed();
    const limit = limitMessage(c);
    if (limit) throw new Refusal(429, "rate_limit_error", limit);
    if (c.desiredState !== "running")
      throw new Refusal(
        403,
        "permission_error",
        `this instance is ${c.desiredState === "stopped" ? "stopped" : c.desiredState}: start it to use the model`,
      );
    if (!c.usesPlatformKey)
      throw new Refusal(
        403,
        "permission_error",
        "this instance uses your own Claude key; Tropic's model proxy serves only instances on the platform's key",
      );
    return c;
  }

  /** Runs checkLimits for the owner unless it ran in the last LIMITS_TTL_MS; true when it ran now. */
  private async checkOwner(ownerId: string): Promise<boolean> {
    const now = Date.now();
    const hit = this.limitsChecked.get(ownerId);
    if (hit?.running) {
      await hit.running;
      return true;
    }
    if (hit && now - hit.at < this.limitsTtlMs) return false;
    if (this.limitsChecked.size >= 10_000) this.limitsChecked.clear();
    const entry: { at: number; running?: Promise<void> } = { at: now };
    entry.running = (async () => {
      try {
        const r = await checkLimits(this.database.pool, ownerId, {
          rates: typeof this.rates === "function" ? this.rates() : (this.rates ?? loadRates()),
        });
        for (const id of new Set([...r.paused, ...r.resumed])) {
          if (r.paused.includes(id)) this.log.info({ instanceId: id }, "model proxy: limits paused the instance");
          void Promise.resolve()
            .then(() => this.changed?.(id))
            .catch(() => {});
        }
        entry.at = Date.now();
      } catch (err) {
        // Fail closed: a failed check admits nothing, and the next request checks again.
        this.limitsChecked.delete(ownerId);
        this.log.error({ err: { message: (err as Error).message } }, "model proxy: limits check failed");
        throw new Refusal(503, "api_error", "Tropic could not check your spending limits just now; try again shortly");
      } finally {
        entry.running = undefined;
      }
    })();
    this.limitsChecked.set(ownerId, entry);
    await entry.running;
    return true;
  }

  /** The request to the upstream with the platform key; the answer streamed back as it comes. */
  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    t: { path: string; query: string; instanceId: string; ownerId: string; agent: string | null; record: boolean },
  ): Promise<void> {
    return new Promise<void>((done) => {
      const headers: Record<string, string> = {};
      for (const h of FORWARDED_REQUEST_HEADERS) {
        const v = req.headers[h];
        if (typeof v === "string") headers[h] = v;
      }
      headers["content-type"] ??= "application/json";
      const declared = req.headers["content-length"];
      if (typeof declared === "string" && /^\d+$/.test(declared)) headers["content-length"] = declared;
      headers["x-api-key"] = this.platformKey!;

      const base = this.upstream.pathname.replace(/\/$/, "");
      const send = this.upstream.protocol === "https:" ? httpsRequest : httpRequest;
      const up = send({
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname.replace(/^\[|\]$/g, ""),
        port: this.upstream.port || undefined,
        method: "POST",
        path: `${base}${t.path}${t.query}`,
        headers,
        agent: this.agent,
        timeout: UPSTREAM_IDLE_MS,
      });

      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        done();
      };
      let counter: UsageCounter | null = null;
      let recorded = false;
      const record = (why: "complete" | "client_gone" | "upstream_cut") => {
        if (recorded || !counter || !t.record) return;
        recorded = true;
        counter.end();
        void this.recordUsage(t, counter, why);
      };

      // The client went away (or the answer was written in full): the upstream request ends with it.
      res.on("close", () => {
        if (!res.writableFinished) {
          record("client_gone");
          up.destroy();
        }
        finish();
      });

      up.on("timeout", () => up.destroy(new Error("upstream idle timeout")));
      up.on("error", (err) => {
        if (settled) return;
        if (!res.headersSent) {
          this.log.warn(
            { instanceId: t.instanceId, upstream: this.upstream.origin, code: (err as NodeJS.ErrnoException).code ?? "error" },
            "model proxy: upstream unreachable",
          );
          this.refuse(req, res, 502, "api_error", "the model API could not be reached from Tropic; try again shortly");
        } else {
          record("upstream_cut");
          res.destroy();
        }
        finish();
      });

      up.on("response", (answer) => {
        const out: Record<string, string> = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
        for (const h of FORWARDED_RESPONSE_HEADERS) {
          const v = answer.headers[h];
          if (typeof v === "string") out[h] = v;
        }
        const status = answer.statusCode ?? 502;
        if (status >= 200 && status < 300) counter = new UsageCounter(answer.headers["content-type"]);
        res.writeHead(status, out);
        res.flushHeaders();
        answer.on("data", (chunk: Buffer) => {
          counter?.feed(chunk);
          if (!res.write(chunk)) {
            answer.pause();
            res.once("drain", () => answer.resume());
          }
        });
        answer.on("end", () => {
          record("complete");
          res.end();
        });
        answer.on("error", () => {
          record("upstream_cut");
          res.destroy();
        });
        answer.on("aborted", () => {
          record("upstream_cut");
          res.destroy();
        });
      });

      // The body, counted as it streams: over the limit, the upstream request is abandoned.
      let bytes = 0;
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) {
          req.removeAllListeners("data");
          req.resume();
          up.destroy();
          if (!settled) {
            settled = true;
            this.refuse(req, res, 413, "request_too_large", tooLarge().message);
            done();
          }
          return;
        }
        if (!up.write(chunk)) {
          req.pause();
          up.once("drain", () => req.resume());
        }
      });
      req.on("end", () => {
        if (bytes <= MAX_BODY_BYTES) up.end();
      });
      req.on("error", () => up.destroy());
    });
  }

  private async recordUsage(
    t: { instanceId: string; ownerId: string; agent: string | null },
    c: UsageCounter,
    why: "complete" | "client_gone" | "upstream_cut",
  ): Promise<void> {
    try {
      await this.database.db.insert(modelUsage).values({
        id: crypto.randomUUID(),
        ownerId: t.ownerId,
        instanceId: t.instanceId,
        agent: t.agent,
        model: (c.model ?? "unknown").slice(0, 200),
        inputTokens: c.inputTokens,
        outputTokens: c.countedOutput,
      });
    } catch (err) {
      this.log.error({ instanceId: t.instanceId, why, err: { message: (err as Error).message } }, "model proxy: could not record usage");
    }
  }

  /** An error in Anthropic's shape; a response already under way is cut instead. */
  private refuse(req: IncomingMessage, res: ServerResponse, status: number, type: AnthropicErrorType, message: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = anthropicError(type, message);
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      // A body we will not read must not keep the connection: the client is told to open a new one.
      ...(req.complete ? {} : { connection: "close" }),
    });
    res.end(body);
    if (!req.complete) req.resume();
  }

  /**
   * An internal node:http server with only this handler, on loopback by default: the instance agents'
   * tunnels are joined to it. It serves no other route of Tropic's.
   */
  async listen(host = "127.0.0.1", port = 0): Promise<ModelProxyListener> {
    const sockets = new Set<Socket>();
    const server = createServer({ noDelay: true }, (req, res) => void this.handle(req, res));
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    server.on("clientError", (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const listener: ModelProxyListener = {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((resolve) => {
          this.listeners.delete(listener);
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
    this.listeners.add(listener);
    return listener;
  }

  /** Closes every internal listener and the upstream connections. */
  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
    this.agent.destroy();
  }
}

function tooLarge(): Refusal {
  return new Refusal(413, "request_too_large", `the request body is larger than ${MAX_BODY_BYTES / 1024 / 1024} MB`);
}

function failClosed(): never {
  throw new Refusal(401, "authentication_error", "invalid credential: unknown or revoked, or its instance is being deleted");
}
