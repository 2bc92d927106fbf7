import { z } from "zod";

/** Field shapes shared by every route; bodies are strict so unknown fields are rejected by name. */
export const name = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(80, "must be at most 80 characters")
  .regex(/^[^\u0000-\u001f\u007f]+$/, "must not contain control characters");
export const idParam = z.strictObject({ id: z.uuid("must be a UUID") });
export const email = z
  .email("must be an email address")
  .max(254)
  .transform((s) => s.toLowerCase());
export const password = z.string().min(10, "must be at least 10 characters").max(200, "must be at most 200 characters");
export const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "must be 1-40 lowercase letters, digits or dashes, starting with a letter or digit");
export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional(), details: z.unknown().optional() }),
});
export const pageOf = <T extends z.ZodTypeAny>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
// Dates serialise as ISO-8601 strings; the OpenAPI document says format date-time.
export const iso = z.date();
export const isoNullable = z.date().nullable();
