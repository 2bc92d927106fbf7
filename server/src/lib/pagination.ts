import { z } from "zod";
import { badRequest } from "./errors.ts";

export const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().max(200).optional(),
  })
  .strict();

export interface Cursor {
  createdAt: Date;
  id: string;
}

/** Keyset cursors: stable under inserts, cheap at any depth, opaque to clients. */
export function encodeCursor(row: { createdAt: Date; id: string | number }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), String(row.id)])).toString("base64url");
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (!cursor) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    const createdAt = new Date(at);
    if (typeof id !== "string" || Number.isNaN(createdAt.getTime())) throw new Error();
    return { createdAt, id };
  } catch {
    throw badRequest("cursor", "cursor is not one this API returned; pass the nextCursor of the previous page");
  }
}

/** Takes limit+1 rows, returns the page and the cursor of the next one. */
export function page<T extends { createdAt: Date; id: string | number }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/** Append-only tables (ledger, audit events) page by their bigserial id: newest first, cursor = last id. */
export const idPageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, "cursor is not one this API returned")
    .optional(),
});

export function idPage<T extends { id: number }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? String(items[items.length - 1]!.id) : null };
}
