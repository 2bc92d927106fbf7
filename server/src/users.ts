import { and, eq, sql } from "drizzle-orm";
import type { Db } from "./db/connect.ts";
import { users } from "./db/schema.ts";
import type { OidcIdentity } from "./auth/oidc.ts";
import { conflict } from "./lib/errors.ts";

type User = typeof users.$inferSelect;
// Held for the length of one insert, so two simultaneous first sign-ups cannot both become admin.
const FIRST_USER_LOCK = 727_274_002;

export async function createUser(db: Db, fields: { email: string; passwordHash?: string; oidcIssuer?: string; oidcSubject?: string }): Promise<User> {
  const email = fields.email.toLowerCase();
  try {
    return await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(${FIRST_USER_LOCK})`);
      const [row] = await tx
        .insert(users)
        .values({
          id: crypto.randomUUID(),
          email,
          passwordHash: fields.passwordHash ?? null,
          oidcIssuer: fields.oidcIssuer ?? null,
          oidcSubject: fields.oidcSubject ?? null,
          isAdmin: sql`NOT EXISTS (SELECT 1 FROM users)`,
          createdAt: new Date(),
        })
        .returning();
      return row as User;
    });
  } catch (err) {
    if (pgCode(err) === "23505") throw conflict("email", "an account with this email already exists; sign in instead");
    throw err;
  }
}

/**
 * Maps an OIDC identity to an account: by (issuer, subject) first; else links an existing
 * account with the same email only when the provider says the email is verified.
 */
export async function findOrCreateOidcUser(db: Db, id: OidcIdentity): Promise<User> {
  const [linked] = await db
    .select()
    .from(users)
    .where(and(eq(users.oidcIssuer, id.issuer), eq(users.oidcSubject, id.subject)))
    .limit(1);
  if (linked) return linked;
  if (!id.email) throw new Error("the identity provider did not share an email address");
  const [byEmail] = await db.select().from(users).where(eq(users.email, id.email)).limit(1);
  if (byEmail) {
    if (!id.emailVerified) throw new Error("an account with this email exists and the provider has not verified the email");
    const [row] = await db.update(users).set({ oidcIssuer: id.issuer, oidcSubject: id.subject }).where(eq(users.id, byEmail.id)).returning();
    return row as User;
  }
  return createUser(db, { email: id.email, oidcIssuer: id.issuer, oidcSubject: id.subject });
}

/** The PostgreSQL error code, whether or not Drizzle wrapped the driver's error. */
export function pgCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e.code ?? e.cause?.code;
}
