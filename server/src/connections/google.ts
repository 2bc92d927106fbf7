// Settings → Connections → Google (docs/skills.md "The Google connection"): OAuth 2.0 authorization
// code with PKCE (S256), offline access, the spreadsheets scope. The refresh token is sealed
// (secrets/envelope.ts) and never leaves the control plane: an instance's agent asks for a short-lived
// access token (an `ask` frame, instances/hub.ts), which is refreshed here with Google's token endpoint
// and kept in this process's memory only, until shortly before it expires.
import { createHash, randomBytes } from "node:crypto";
import { and, eq, lt } from "drizzle-orm";
import type { GoogleOAuthConfig } from "../config.ts";
import type { Db } from "../db/connect.ts";
import { googleConnections, oauthStates } from "../db/schema.ts";
import { openJson, sealJson } from "../instances/tokens.ts";
import { recordEvent } from "../lib/audit.ts";
import { sha256Hex } from "../lib/tokens.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";

export const SHEETS_SCOPE = "https://www.googleapis.com/auth/spreadsheets";
/** how long an authorization may take between "Connect Google" and Google's redirect back */
export const STATE_TTL_MS = 10 * 60_000;
/** a cached access token is handed out until this long before it expires */
const EARLY_MS = 2 * 60_000;

/** Why a callback did not connect: the words Settings shows (never a token, code or secret). */
export class GoogleConnectError extends Error {
  constructor(
    readonly reason: "not_configured" | "bad_state" | "denied" | "exchange_failed" | "no_refresh_token" | "scope_missing",
    message: string,
  ) {
    super(message);
  }
}

/** The owner has no Google connection (or Google no longer honours it). */
export class NotConnectedError extends Error {
  readonly code = "not_connected";
}

export interface GoogleStatus {
  /** whether this Tropic offers the Google connection at all (a client id is configured) */
  configured: boolean;
  connected: boolean;
  scope: string | null;
  connectedAt: Date | null;
}

const b64url = (b: Buffer) => b.toString("base64url");

export class GoogleConnections {
  private cache = new Map<string, { accessToken: string; expiresAt: number }>();
  private refreshing = new Map<string, Promise<{ access_token: string; expires_at: string }>>();
  private db: Db;
  private kek: KeyEncryptionKey;
  private cfg: GoogleOAuthConfig | undefined;
  readonly redirectUri: string;

  constructor(deps: { db: Db; kek: KeyEncryptionKey; config: GoogleOAuthConfig | undefined; redirectUri: string }) {
    this.db = deps.db;
    this.kek = deps.kek;
    this.cfg = deps.config;
    this.redirectUri = deps.redirectUri;
  }

  get configured(): boolean {
    return this.cfg !== undefined;
  }

  private config(): GoogleOAuthConfig {
    if (!this.cfg)
      throw new GoogleConnectError(
        "not_configured",
        "this Tropic has no Google client configured (TROPIC_GOOGLE_CLIENT_ID and TROPIC_GOOGLE_CLIENT_SECRET)",
      );
    return this.cfg;
  }

  /**
   * Starts an authorization for the caller's session: a one-use state (only its sha256 stored) and a PKCE
   * verifier (sealed), both expiring after STATE_TTL_MS. Returns Google's URL to send the browser to.
   */
  async start(caller: { id: string; sessionId?: string }): Promise<{ url: string }> {
    const cfg = this.config();
    const state = b64url(randomBytes(32));
    const verifier = b64url(randomBytes(48));
    const challenge = b64url(createHash("sha256").update(verifier).digest());
    const now = Date.now();
    await this.db.delete(oauthStates).where(lt(oauthStates.expiresAt, new Date(now)));
    await this.db.insert(oauthStates).values({
      stateHash: sha256Hex(state),
      ownerId: caller.id,
      sessionId: caller.sessionId ?? null,
      provider: "google",
      verifierEnc: await sealJson(this.kek, verifier),
      expiresAt: new Date(now + STATE_TTL_MS),
    });
    const u = new URL(cfg.authUrl);
    u.search = new URLSearchParams({
      client_id: cfg.clientId,
      redirect_uri: this.redirectUri,
      response_type: "code",
      scope: SHEETS_SCOPE,
      access_type: "offline",
      prompt: "consent",
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    }).toString();
    return { url: u.toString() };
  }

  /**
   * Google's redirect back: the state must be one this session started, unused and unexpired (it is
   * deleted as it is read, so a replay finds nothing); then the code is exchanged with the verifier and
   * the refresh token sealed. Nothing is stored unless all of it succeeds.
   */
  async callback(caller: { id: string; sessionId?: string }, q: { state?: string; code?: string; error?: string }): Promise<GoogleStatus> {
    const cfg = this.config();
    if (!q.state) throw new GoogleConnectError("bad_state", "Google's answer carries no state");
    const [row] = await this.db
      .delete(oauthStates)
      .where(and(eq(oauthStates.stateHash, sha256Hex(q.state)), eq(oauthStates.provider, "google")))
      .returning();
    if (!row || row.expiresAt.getTime() < Date.now())
      throw new GoogleConnectError("bad_state", "this Google sign-in link expired or was already used: connect again from Settings");
    if (row.ownerId !== caller.id || (row.sessionId ?? null) !== (caller.sessionId ?? null))
      throw new GoogleConnectError("bad_state", "this Google sign-in was started by another session: connect again from Settings");
    if (q.error)
      throw new GoogleConnectError("denied", q.error === "access_denied" ? "Google access was not granted" : `Google said: ${q.error.slice(0, 100)}`);
    if (!q.code) throw new GoogleConnectError("exchange_failed", "Google's answer carries no authorization code");
    const verifier = await openJson(this.kek, row.verifierEnc);
    const t = await this.tokenCall(cfg, {
      grant_type: "authorization_code",
      code: q.code,
      redirect_uri: this.redirectUri,
      code_verifier: verifier,
    });
    if (!t.ok) throw new GoogleConnectError("exchange_failed", `Google refused the authorization (${t.error})`);
    const body = t.body;
    const scope = typeof body.scope === "string" ? body.scope : SHEETS_SCOPE;
    if (!scope.split(" ").includes(SHEETS_SCOPE))
      throw new GoogleConnectError("scope_missing", "Google did not grant access to spreadsheets: connect again and allow it");
    if (typeof body.refresh_token !== "string" || !body.refresh_token)
      throw new GoogleConnectError(
        "no_refresh_token",
        "Google gave no refresh token: remove Tropic's access in your Google account, then connect again",
      );
    const now = new Date();
    const sealed = await sealJson(this.kek, body.refresh_token);
    await this.db
      .insert(googleConnections)
      .values({ ownerId: caller.id, refreshTokenEnc: sealed, scope, connectedAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: googleConnections.ownerId, set: { refreshTokenEnc: sealed, scope, connectedAt: now, updatedAt: now } });
    this.cache.delete(caller.id);
    if (typeof body.access_token === "string" && typeof body.expires_in === "number")
      this.cache.set(caller.id, { accessToken: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 });
    await recordEvent(this.db, {
      ownerId: caller.id,
      action: "connection.google.connected",
      objectType: "connection",
      objectId: "google",
      details: { scope },
    });
    return this.status(caller.id);
  }

  async status(ownerId: string): Promise<GoogleStatus> {
    const [row] = await this.db
      .select({ scope: googleConnections.scope, connectedAt: googleConnections.connectedAt })
      .from(googleConnections)
      .where(eq(googleConnections.ownerId, ownerId))
      .limit(1);
    return { configured: this.configured, connected: !!row, scope: row?.scope ?? null, connectedAt: row?.connectedAt ?? null };
  }

  /**
   * Forgets the connection (the sealed refresh token is deleted; instances get not_connected from now
   * on) and revokes the grant at Google, best effort: the row is gone whatever Google answers.
   */
  async disconnect(ownerId: string): Promise<boolean> {
    const gone = await this.db
      .delete(googleConnections)
      .where(eq(googleConnections.ownerId, ownerId))
      .returning({ ownerId: googleConnections.ownerId, refreshTokenEnc: googleConnections.refreshTokenEnc });
    this.cache.delete(ownerId);
    if (gone[0] && this.cfg) {
      const token = await openJson(this.kek, gone[0].refreshTokenEnc).catch(() => null);
      if (token)
        await fetch(this.cfg.revokeUrl, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ token }).toString(),
          signal: AbortSignal.timeout(10_000),
        }).catch(() => {});
    }
    if (gone.length) await recordEvent(this.db, { ownerId, action: "connection.google.disconnected", objectType: "connection", objectId: "google" });
    return gone.length > 0;
  }

  /**
   * A short-lived access token for the owner's instances: the cached one while it has more than two
   * minutes left, else a new one from Google's token endpoint (grant_type=refresh_token). Throws
   * NotConnectedError without a connection, or when Google says the grant is gone (the connection is
   * then removed: the user must connect again).
   */
  async accessToken(ownerId: string): Promise<{ access_token: string; expires_at: string }> {
    const c = this.cache.get(ownerId);
    if (c && c.expiresAt - Date.now() > EARLY_MS) return { access_token: c.accessToken, expires_at: new Date(c.expiresAt).toISOString() };
    let p = this.refreshing.get(ownerId);
    if (!p) {
      p = this.refresh(ownerId).finally(() => this.refreshing.delete(ownerId));
      this.refreshing.set(ownerId, p);
    }
    return p;
  }

  private async refresh(ownerId: string): Promise<{ access_token: string; expires_at: string }> {
    const [row] = await this.db.select().from(googleConnections).where(eq(googleConnections.ownerId, ownerId)).limit(1);
    if (!row || !this.cfg) throw new NotConnectedError("Google is not connected: connect it in Settings > Connections");
    const t = await this.tokenCall(this.cfg, { grant_type: "refresh_token", refresh_token: await openJson(this.kek, row.refreshTokenEnc) });
    if (!t.ok) {
      if (t.error === "invalid_grant") {
        await this.db.delete(googleConnections).where(eq(googleConnections.ownerId, ownerId));
        await recordEvent(this.db, { ownerId, action: "connection.google.revoked", objectType: "connection", objectId: "google" });
        throw new NotConnectedError("Google no longer accepts this connection: connect Google again in Settings > Connections");
      }
      throw new Error(`Google's token endpoint failed (${t.error})`);
    }
    const b = t.body;
    if (typeof b.access_token !== "string" || typeof b.expires_in !== "number") throw new Error("Google's token endpoint gave no access token");
    const expiresAt = Date.now() + b.expires_in * 1000;
    this.cache.set(ownerId, { accessToken: b.access_token, expiresAt });
    return { access_token: b.access_token, expires_at: new Date(expiresAt).toISOString() };
  }

  /** POST to the token endpoint (client authentication in the body, as Google documents). Errors carry Google's error code only. */
  private async tokenCall(
    cfg: GoogleOAuthConfig,
    params: Record<string, string>,
  ): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; error: string }> {
    let res: Response;
    try {
      res = await fetch(cfg.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ ...params, client_id: cfg.clientId, client_secret: cfg.clientSecret }).toString(),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      return { ok: false, error: `unreachable: ${(e as Error).name}` };
    }
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {}
    if (!res.ok) return { ok: false, error: typeof body.error === "string" ? body.error.slice(0, 60) : `HTTP ${res.status}` };
    return { ok: true, body };
  }
}

/** The hub's answer to an agent's `ask` (instances/hub.ts onAsk): the instance owner's access token. */
export function answerGoogleAsk(g: GoogleConnections) {
  return async (
    ownerId: string,
    _instanceId: string,
    what: string,
  ): Promise<{ ok: boolean; result?: unknown; error?: string; code?: "not_connected" | "unavailable" }> => {
    if (what !== "google_token") return { ok: false, error: `unknown question ${String(what).slice(0, 40)}`, code: "unavailable" };
    try {
      return { ok: true, result: await g.accessToken(ownerId) };
    } catch (e) {
      if (e instanceof NotConnectedError) return { ok: false, error: e.message, code: "not_connected" };
      return { ok: false, error: (e as Error).message, code: "unavailable" };
    }
  };
}
