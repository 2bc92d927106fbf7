/** The one error shape of the API: {"error":{"code","message","field"}}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
  toJSON() {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field !== undefined ? { field: this.field } : {}),
        ...(this.details !== undefined ? { details: this.details } : {}),
      },
    };
  }
}

export const badRequest = (field: string, message: string, details?: unknown) => new ApiError(400, "invalid_input", message, field, details);
/** Missing and not-yours look the same, so ids of other users' objects leak nothing. */
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
export const conflict = (field: string, message: string) => new ApiError(409, "conflict", message, field);
export const unauthorized = (message = "sign in first: no valid session or API token") => new ApiError(401, "unauthorized", message);
export const forbidden = (message: string) => new ApiError(403, "forbidden", message);

/**
 * Whether `err` is PostgreSQL's unique violation (23505) — of the index `constraint` when given and
 * the driver names it. Drizzle wraps driver errors, so the cause is looked at too.
 */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  for (let e = err as { code?: unknown; constraint?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; depth++) {
    if (e.code === "23505") return constraint === undefined || e.constraint === undefined || e.constraint === constraint;
    e = e.cause as typeof e;
  }
  return false;
}
