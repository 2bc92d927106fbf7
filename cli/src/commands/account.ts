import { ApiClient, CliError } from "../client.ts";
import { clearConfig, readConfig, writeConfig } from "../config.ts";
import { keyValues } from "../output.ts";
import { promptSecret, readStdin } from "../prompt.ts";
import type { Command, Context } from "./index.ts";
import { authed, serverUrl } from "./session.ts";

async function password(ctx: Context): Promise<string> {
  if (ctx.flags["password-stdin"]) return (await readStdin()).replace(/\r?\n$/, "");
  if (process.env.TROPIC_PASSWORD) return process.env.TROPIC_PASSWORD;
  if (!process.stdin.isTTY) throw new CliError("no password: pass --password-stdin and pipe it in, or run in a terminal", 2);
  return promptSecret("Password: ");
}

/** Signs in with a password, then mints an API token for this CLI; the password is never stored. */
async function signInAndStore(ctx: Context, path: "signup" | "signin"): Promise<number> {
  const url = serverUrl(ctx);
  const email = ctx.flags.email as string | undefined;
  if (!email) throw new CliError("--email is required", 2);
  const pw = await password(ctx);
  const res = await fetch(new URL(`/api/v1/auth/${path}`, url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: pw }),
  }).catch(() => {
    throw new CliError(`cannot reach the Tropic server at ${url}; is \`tropic serve\` running, and is --url right?`);
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { message: string }; isAdmin?: boolean };
  if (!res.ok) throw new CliError(body.error?.message ?? `sign-in failed (${res.status})`);
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  const tokenRes = await fetch(new URL("/api/v1/tokens", url), {
    method: "POST",
    headers: { "content-type": "application/json", cookie: cookie ?? "" },
    body: JSON.stringify({ name: `cli@${process.env.HOSTNAME ?? "host"}` }),
  });
  const tok = (await tokenRes.json()) as { token?: string; error?: { message: string } };
  if (!tokenRes.ok || !tok.token) throw new CliError(tok.error?.message ?? "could not create an API token");
  const path_ = writeConfig({ url, token: tok.token, email });
  ctx.out(
    ctx.json
      ? JSON.stringify({ email, url, admin: body.isAdmin ?? false })
      : `Logged in to ${url} as ${email}${body.isAdmin ? " (admin)" : ""}. Token saved in ${path_}.`,
  );
  return 0;
}

export const accountCommands: Record<string, Command> = {
  signup: {
    options: { email: { type: "string" }, "password-stdin": { type: "boolean" } },
    run: (ctx) => signInAndStore(ctx, "signup"),
  },
  login: {
    options: { email: { type: "string" }, "password-stdin": { type: "boolean" }, token: { type: "string" } },
    async run(ctx) {
      if (ctx.flags.token) {
        const url = serverUrl(ctx);
        const me = await new ApiClient(url, String(ctx.flags.token)).get<{ email: string }>("/api/v1/me");
        writeConfig({ url, token: String(ctx.flags.token), email: me.email });
        ctx.out(`Logged in to ${url} as ${me.email}.`);
        return 0;
      }
      return signInAndStore(ctx, "signin");
    },
  },
  logout: {
    async run(ctx) {
      clearConfig();
      ctx.out("Logged out.");
      return 0;
    },
  },
  whoami: {
    async run(ctx) {
      const me = await authed(ctx).get<Record<string, unknown>>("/api/v1/me");
      ctx.out(
        ctx.json ? JSON.stringify(me) : keyValues({ ...me, url: serverUrl(ctx), config: readConfig().email ? "stored login" : "TROPIC_TOKEN" }),
      );
      return 0;
    },
  },
};
