import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Cursor } from "../lib/pagination.ts";

/** `WHERE (created_at, id) < cursor` for newest-first keyset pages. */
export function beforeCursor(createdAt: PgColumn, id: PgColumn, c: Cursor | undefined): SQL | undefined {
  if (!c) return undefined;
  return or(lt(createdAt, c.createdAt), and(eq(createdAt, c.createdAt), lt(id, c.id)));
}

export const newestFirst = (createdAt: PgColumn, id: PgColumn) => [desc(createdAt), desc(id)];
