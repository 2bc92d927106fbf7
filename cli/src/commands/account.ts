import { ApiClient, ApiError, CliError } from "../client.ts";
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
  if (!email) throw new CliError(`--email is required: ${ctx.path} --email you@example.com`, 2);
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw new CliError(`--email ${email} is not an email address`, 2);
  const pw = await password(ctx);
  if (path === "signup" && pw.length < 10) throw new CliError("the password must be at least 10 characters", 2);
  const res = await fetch(new URL(`/api/v1/auth/${path}`, url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: pw }),
  }).catch(() => {
    throw new CliError(`cannot reach the Tropic server at ${url}; is \`tropic serve\` running, and is --url right?`);
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message: string; field?: string }; isAdmin?: boolean };
  if (!res.ok)
    throw body.error
      ? new ApiError(res.status, body.error.code ?? "", body.error.message, body.error.field)
      : new CliError(`sign-in failed (${res.status})`);
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

const credentialOptions = {
  email: { type: "string", value: "EMAIL", help: "your account's email" },
  "password-stdin": { type: "boolean", help: "read the password from stdin (else TROPIC_PASSWORD, else a prompt)" },
} as const;
const credentialFields = { email: { as: "--email" }, password: { as: "the password" } };

export const accountCommands: Record<string, Command> = {
  signup: {
    usage: "--email EMAIL [--password-stdin]",
    summary: "create an account (the first is the admin) and log this CLI in",
    options: credentialOptions,
    fields: { ...credentialFields, email: { as: "--email", next: "tropic login --email EMAIL" } },
    run: (ctx) => signInAndStore(ctx, "signup"),
  },
  login: {
    usage: "--email EMAIL [--password-stdin] | --token TOKEN",
    summary: "store an API token for this CLI (0600)",
    options: { ...credentialOptions, token: { type: "string", value: "TOKEN", help: "an API token (trp_…) instead of a password" } },
    fields: credentialFields,
    async run(ctx) {
      if (ctx.flags.token) {
        const url = serverUrl(ctx);
        const me = await new ApiClient(url, String(ctx.flags.token)).get<{ email: string }>("/api/v1/me").catch((err) => {
          throw err instanceof ApiError && err.status === 401 ? new CliError("--token is not a valid API token for this server", 1) : err;
        });
        writeConfig({ url, token: String(ctx.flags.token), email: me.email });
        ctx.out(`Logged in to ${url} as ${me.email}.`);
        return 0;
      }
      return signInAndStore(ctx, "signin");
    },
  },
  logout: {
    summary: "forget the stored login",
    async run(ctx) {
      clearConfig();
      ctx.out("Logged out.");
      return 0;
    },
  },
  whoami: {
    summary: "who this CLI is logged in as, and where",
    async run(ctx) {
      const me = await authed(ctx).get<Record<string, unknown>>("/api/v1/me");
      ctx.out(
        ctx.json ? JSON.stringify(me) : keyValues({ ...me, url: serverUrl(ctx), config: readConfig().email ? "stored login" : "TROPIC_TOKEN" }),
      );
      return 0;
    },
  },
};
