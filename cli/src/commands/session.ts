import { ApiClient, CliError } from "../client.ts";
import { readConfig } from "../config.ts";
import type { Context } from "./index.ts";

export const DEFAULT_URL = "http://127.0.0.1:8080";

export function serverUrl(ctx: Context): string {
  return (ctx.flags.url as string | undefined) ?? process.env.TROPIC_URL ?? readConfig().url ?? DEFAULT_URL;
}

/** A client with the caller's token: TROPIC_TOKEN first, then what `tropic login` stored. */
export function authed(ctx: Context): ApiClient {
  const cfg = readConfig();
  const token = process.env.TROPIC_TOKEN ?? cfg.token;
  if (!token) throw new CliError("not logged in: run `tropic login --email you@example.com` (or set TROPIC_TOKEN)");
  return new ApiClient(serverUrl(ctx), token);
}

export function print(ctx: Context, data: unknown, human: () => string) {
  ctx.out(ctx.json ? JSON.stringify(data) : human());
}
