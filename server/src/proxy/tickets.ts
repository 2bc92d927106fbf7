// One-time tickets that hand a dashboard session over to an instance's own origin (docs/proxy.md).
// The ticket travels in the body of an auto-submitted form, never in a URL; only its hash is stored;
// it lives 60 s, is bound to the session it came from, and the exchange deletes it (one use, on any
// node: the database is the truth).
import { and, eq, gt, lt } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { proxyTickets } from "../db/schema.ts";
import { newToken, sha256Hex } from "../lib/tokens.ts";

export const TICKET_TTL_MS = 60_000;

export class ProxyTickets {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(userId: string, instanceId: string, sessionId: string): Promise<string> {
    const ticket = newToken("tph");
    const now = this.now();
    // Expired tickets are swept as new ones are made (a ticket is made per page load).
    await this.db.delete(proxyTickets).where(lt(proxyTickets.expiresAt, new Date(now - TICKET_TTL_MS)));
    await this.db.insert(proxyTickets).values({
      tokenHash: sha256Hex(ticket),
      ownerId: userId,
      instanceId,
      sessionId,
      expiresAt: new Date(now + TICKET_TTL_MS),
    });
    return ticket;
  }

  /** The ticket's session for this instance, once; null when unknown, used, expired or for another instance. */
  async redeem(ticket: string, instanceId: string): Promise<{ userId: string; sessionId: string } | null> {
    if (!/^tph_[A-Za-z0-9_-]{20,100}$/.test(ticket)) return null;
    const [row] = await this.db
      .delete(proxyTickets)
      .where(and(eq(proxyTickets.tokenHash, sha256Hex(ticket)), gt(proxyTickets.expiresAt, new Date(this.now()))))
      .returning({ ownerId: proxyTickets.ownerId, instanceId: proxyTickets.instanceId, sessionId: proxyTickets.sessionId });
    if (!row || row.instanceId !== instanceId) return null;
    return { userId: row.ownerId, sessionId: row.sessionId };
  }
}
