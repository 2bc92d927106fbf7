import type { Db } from "../db/connect.ts";
import { auditEvents } from "../db/schema.ts";

/** Records what a user (or the system on their behalf) changed. Never put secret values in details. */
export async function recordEvent(
  db: Db,
  e: { ownerId: string; actorId?: string; action: string; objectType?: string; objectId?: string; details?: Record<string, unknown> },
): Promise<void> {
  await db.insert(auditEvents).values({
    ownerId: e.ownerId,
    actorId: e.actorId ?? e.ownerId,
    action: e.action,
    objectType: e.objectType ?? null,
    objectId: e.objectId ?? null,
    details: e.details ?? {},
    createdAt: new Date(),
  });
}
