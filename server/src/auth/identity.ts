import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Db } from "../db/connect.ts";
import { apiTokens, sessions, users } from "../db/schema.ts";
import { forbidden, unauthorized } from "../lib/errors.ts";
import { crossSiteReason } from "./origin.ts";
import { constantTimeEqual, newToken, sha256Hex } from "../lib/tokens.ts";

export const SESSION_COOKIE = "tropic_session";

export interface Caller {
  id: string;
  email: string;
  isAdmin: boolean;
  via: "session" | "token" | "jwt";
  sessionId?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** Optional extra bearer scheme (OIDC JWTs), plugged in when OIDC is configured. */
export type JwtVerifier = (token: string) => Promise<Caller | null>;

export class Identity {
  constructor(
    private readonly db: Db,
    private readonly sessionDays: number,
    private readonly jwt?: JwtVerifier,
  ) {}

  // Built once, on first use: these run on every authenticated request, and rebuilding the SQL
  // each time was a fifth of its CPU.
  #tokenLookup?: ReturnType<Identity["buildTokenLookup"]>;
  #sessionLookup?: ReturnType<Identity["buildSessionLookup"]>;
  #aliveLookup?: { execute(p: { id: string; owner: string; now: Date }): Promise<{ id: string }[]> };
  #alive = new Map<string, { at: number; userId: string }>();

  private buildTokenLookup() {
    return this.db
      .select({ id: apiTokens.id, hash: apiTokens.tokenHash, lastUsedAt: apiTokens.lastUsedAt, user: users })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.ownerId))
      .where(and(eq(apiTokens.tokenHash, sql.placeholder("hash")), isNull(apiTokens.revokedAt)))
      .limit(1)
      .prepare("tropic_token_lookup");
  }

  private buildSessionLookup() {
    return this.db
      .select({ id: sessions.id, hash: sessions.tokenHash, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.ownerId))
      .where(and(eq(sessions.tokenHash, sql.placeholder("hash")), gt(sessions.expiresAt, sql.placeholder("now"))))
      .limit(1)
      .prepare("tropic_session_lookup");
  }

  async createSession(userId: string, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = newToken("tps");
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.sessionDays * 86_400_000);
    await this.db.insert(sessions).values({
      id: crypto.randomUUID(),
      ownerId: userId,
      tokenHash: sha256Hex(token),
      createdAt: now,
      expiresAt,
      userAgent: req.headers["user-agent"]?.slice(0, 300) ?? null,
      ip: req.ip,
    });
    reply.setCookie(SESSION_COOKIE, token, {
      path: "/",
      httpOnly: true,
      sameSite: "lax",
      secure: isHttps(req),
      expires: expiresAt,
    });
  }

  async endSession(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const token = req.cookies[SESSION_COOKIE];
    if (token) {
      const ended = await this.db
        .delete(sessions)
        .where(eq(sessions.tokenHash, sha256Hex(token)))
        .returning({ id: sessions.id });
      for (const e of ended) this.#alive.delete(e.id);
    }
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
  }

  /**
   * Whether a session still exists, is not expired and belongs to `userId` (what the gateway proxy's
   * cookie is bound to). A yes is kept for a second (proxied traffic comes in bursts); signing out
   * here forgets it at once, other control-plane processes within the second.
   */
  async sessionAlive(sessionId: string, userId: string): Promise<boolean> {
    const now = Date.now();
    const hit = this.#alive.get(sessionId);
    if (hit && now - hit.at < 1000 && hit.userId === userId) return true;
    this.#aliveLookup ??= this.db
      .select({ id: sessions.id })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.ownerId))
      .where(
        and(eq(sessions.id, sql.placeholder("id")), eq(sessions.ownerId, sql.placeholder("owner")), gt(sessions.expiresAt, sql.placeholder("now"))),
      )
      .limit(1)
      .prepare("tropic_session_alive");
    const [row] = await this.#aliveLookup.execute({ id: sessionId, owner: userId, now: new Date(now) });
    if (this.#alive.size >= 10_000) this.#alive.clear();
    if (row) this.#alive.set(sessionId, { at: now, userId });
    else this.#alive.delete(sessionId);
    return !!row;
  }

  async createApiToken(userId: string, name: string): Promise<{ id: string; token: string; prefix: string }> {
    const token = newToken("trp");
    const id = crypto.randomUUID();
    const prefix = token.slice(0, 10);
    await this.db.insert(apiTokens).values({ id, ownerId: userId, name, tokenHash: sha256Hex(token), prefix, createdAt: new Date() });
    return { id, token, prefix };
  }

  /** Resolves the caller from a bearer token or the session cookie; null when neither is valid. */
  async resolve(req: FastifyRequest): Promise<Caller | null> {
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m) return null;
      const bearer = m[1] as string;
      if (bearer.startsWith("trp_")) return this.fromApiToken(bearer);
      return this.jwt ? this.jwt(bearer) : null;
    }
    const cookie = req.cookies[SESSION_COOKIE];
    return cookie ? this.fromSession(cookie) : null;
  }

  private async fromApiToken(token: string): Promise<Caller | null> {
    const hash = sha256Hex(token);
    this.#tokenLookup ??= this.buildTokenLookup();
    const [row] = await this.#tokenLookup.execute({ hash });
    if (!row || !constantTimeEqual(row.hash, hash)) return null;
    // Best effort and at most once a minute per token: writing it on every request made busy
    // tokens contend on one row (measured: a third fewer requests/s under load).
    const now = Date.now();
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > 60_000)
      void this.db
        .update(apiTokens)
        .set({ lastUsedAt: new Date(now) })
        .where(eq(apiTokens.id, row.id))
        .catch(() => {});
    return { id: row.user.id, email: row.user.email, isAdmin: row.user.isAdmin, via: "token" };
  }

  private async fromSession(token: string): Promise<Caller | null> {
    const hash = sha256Hex(token);
    this.#sessionLookup ??= this.buildSessionLookup();
    const [row] = await this.#sessionLookup.execute({ hash, now: new Date() });
    if (!row || !constantTimeEqual(row.hash, hash)) return null;
    return { id: row.user.id, email: row.user.email, isAdmin: row.user.isAdmin, via: "session", sessionId: row.id };
  }
}

export function isHttps(req: FastifyRequest): boolean {
  return req.protocol === "https";
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * preHandler for every route that needs a signed-in caller. A state-changing request authenticated by
 * the session cookie must come from Tropic's own origin (crossSiteReason); API tokens are not affected.
 */
export function requireCaller(identity: Identity, publicOrigin?: string) {
  return async (req: FastifyRequest) => {
    const caller = await identity.resolve(req);
    if (!caller) throw unauthorized();
    if (caller.via === "session" && !SAFE_METHODS.has(req.method)) {
      const why = crossSiteReason(req.headers, publicOrigin);
      if (why) throw forbidden(`cross-site requests are refused: ${why}; use Tropic's own pages, or an API token`);
    }
    req.caller = caller;
  };
}
