import { and, desc, eq, isNull } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { hashPassword, verifyPassword } from "../auth/passwords.ts";
import { apiTokens, users } from "../db/schema.ts";
import { recordEvent } from "../lib/audit.ts";
import { ApiError, notFound } from "../lib/errors.ts";
import { createUser, findOrCreateOidcUser } from "../users.ts";
import type { RouteDeps } from "./index.ts";
import { safeNextPath } from "./web.ts";
import { email, idParam, iso, isoNullable, name, password } from "./schemas.ts";

const me = z.object({ id: z.string(), email: z.string(), isAdmin: z.boolean() });
const credentialsBody = z.strictObject({ email, password });
const OIDC_COOKIE = "tropic_oidc";

export const authRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, identity, oidc, config, requireCaller }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  const limited = { rateLimit: { max: config.authRateLimit, timeWindow: "1 minute" } };

  app.post(
    "/api/v1/auth/signup",
    { config: limited, schema: { tags: ["auth"], body: credentialsBody, response: { 201: me } } },
    async (req, reply) => {
      const user = await createUser(db, { email: req.body.email, passwordHash: await hashPassword(req.body.password) });
      await identity.createSession(user.id, req, reply);
      await recordEvent(db, { ownerId: user.id, action: "auth.signup" });
      return reply.code(201).send({ id: user.id, email: user.email, isAdmin: user.isAdmin });
    },
  );

  app.post(
    "/api/v1/auth/signin",
    { config: limited, schema: { tags: ["auth"], body: credentialsBody, response: { 200: me } } },
    async (req, reply) => {
      const [user] = await db.select().from(users).where(eq(users.email, req.body.email)).limit(1);
      const ok = await verifyPassword(req.body.password, user?.passwordHash ?? null);
      if (!user || !ok) throw new ApiError(401, "invalid_credentials", "email or password is wrong");
      await identity.createSession(user.id, req, reply);
      await recordEvent(db, { ownerId: user.id, action: "auth.signin" });
      return { id: user.id, email: user.email, isAdmin: user.isAdmin };
    },
  );

  app.post("/api/v1/auth/signout", { schema: { tags: ["auth"] } }, async (req, reply) => {
    await identity.endSession(req, reply);
    return reply.code(204).send();
  });

  app.get("/api/v1/auth/providers", { schema: { tags: ["auth"] } }, async () => ({
    password: true,
    oidc: config.oidc ? { name: config.oidc.name, start: "/auth/oidc/start" } : null,
  }));

  app.get("/api/v1/me", { preHandler: requireCaller, schema: { tags: ["auth"], response: { 200: me } } }, async (req) => {
    const c = req.caller!;
    return { id: c.id, email: c.email, isAdmin: c.isAdmin };
  });

  // API tokens for the CLI: the value is shown once, only its hash is stored.
  const tokenOut = z.object({ id: z.string(), name: z.string(), prefix: z.string(), createdAt: iso, lastUsedAt: isoNullable });
  app.post(
    "/api/v1/tokens",
    {
      preHandler: requireCaller,
      config: limited,
      schema: {
        tags: ["auth"],
        body: z.strictObject({ name }),
        response: { 201: z.object({ id: z.string(), token: z.string(), prefix: z.string() }) },
      },
    },
    async (req, reply) => {
      const t = await identity.createApiToken(req.caller!.id, req.body.name);
      await recordEvent(db, { ownerId: req.caller!.id, action: "token.create", objectType: "api_token", objectId: t.id });
      return reply.code(201).send(t);
    },
  );
  app.get(
    "/api/v1/tokens",
    { preHandler: requireCaller, schema: { tags: ["auth"], response: { 200: z.object({ items: z.array(tokenOut) }) } } },
    async (req) => ({
      items: await db
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.ownerId, req.caller!.id), isNull(apiTokens.revokedAt)))
        .orderBy(desc(apiTokens.createdAt)),
    }),
  );
  app.delete("/api/v1/tokens/:id", { preHandler: requireCaller, schema: { tags: ["auth"], params: idParam } }, async (req, reply) => {
    const rows = await db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiTokens.id, req.params.id), eq(apiTokens.ownerId, req.caller!.id), isNull(apiTokens.revokedAt)))
      .returning({ id: apiTokens.id });
    if (!rows.length) throw notFound("token");
    await recordEvent(db, { ownerId: req.caller!.id, action: "token.revoke", objectType: "api_token", objectId: req.params.id });
    return reply.code(204).send();
  });

  if (!oidc) return;
  app.get(
    "/auth/oidc/start",
    { config: limited, schema: { hide: true, querystring: z.strictObject({ returnTo: z.string().max(500).optional() }) } },
    async (req, reply) => {
      const { url, cookie } = await oidc.start(safeReturnTo(req.query.returnTo));
      reply.setCookie(OIDC_COOKIE, cookie, { path: "/auth/oidc", httpOnly: true, sameSite: "lax", secure: req.protocol === "https", maxAge: 600 });
      return reply.redirect(url);
    },
  );
  app.get(
    "/auth/oidc/callback",
    {
      config: limited,
      schema: { hide: true, querystring: z.object({ code: z.string().max(2000), state: z.string().max(200) }).passthrough() },
    },
    async (req, reply) => {
      let result: Awaited<ReturnType<typeof oidc.finish>>;
      try {
        result = await oidc.finish({ code: req.query.code, state: req.query.state, cookie: req.cookies[OIDC_COOKIE] });
      } catch (err) {
        throw new ApiError(401, "oidc_failed", `single sign-on failed: ${(err as Error).message}`);
      }
      let user: Awaited<ReturnType<typeof findOrCreateOidcUser>>;
      try {
        user = await findOrCreateOidcUser(db, result.identity);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError(403, "oidc_account", (err as Error).message);
      }
      reply.clearCookie(OIDC_COOKIE, { path: "/auth/oidc" });
      await identity.createSession(user.id, req, reply);
      await recordEvent(db, { ownerId: user.id, action: "auth.signin", details: { via: "oidc" } });
      return reply.redirect(result.returnTo);
    },
  );
};

/** Only same-site relative paths: an attacker-chosen absolute URL would make this an open redirect. */
/** Only a path on this server (the same rule as the sign-in page's `next`: no `//host`, `/\host`, no whitespace that browsers drop). */
function safeReturnTo(v: string | undefined): string {
  return safeNextPath(v) ? v : "/";
}
