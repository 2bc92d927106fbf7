import { inCliWords, parseCommand, resolveCommand, usageLine } from "./args.ts";
import { ApiError, CliError } from "./client.ts";
import { commands } from "./commands/index.ts";

const ORDER = [
  "serve",
  "signup",
  "login",
  "logout",
  "whoami",
  "instances",
  "audit",
  "templates",
  "agents",
  "policy",
  "settings",
  "credentials",
  "credits",
  "ssh-key",
  "keys",
  "runtime",
  "gate",
];

function help(): string {
  const rows: [string, string][] = [];
  for (const name of [...ORDER, ...Object.keys(commands).filter((n) => !ORDER.includes(n))]) {
    const cmd = commands[name];
    if (!cmd) continue;
    if (cmd.verbs) for (const [v, c] of Object.entries(cmd.verbs)) rows.push([usageLine(c, `${name} ${v}`), c.summary ?? ""]);
    else rows.push([usageLine(cmd, name), cmd.summary ?? ""]);
  }
  const w = Math.min(60, Math.max(...rows.map(([u]) => u.length)));
  return [
    "tropic — your own managed, policy-gated OpenClaw instance",
    "",
    "Usage: tropic <command> [options]",
    "Every command takes --json (for scripts), --url URL (which server) and --help (its options).",
    "Instances, agents, policies and templates can be named by name or by id.",
    "",
    ...rows.map(([u, s]) => (u.length > w ? `  ${u}\n  ${"".padEnd(w)}  ${s}` : `  ${u.padEnd(w)}  ${s}`).trimEnd()),
    "",
    "Environment: TROPIC_URL, TROPIC_TOKEN override the stored login.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  const top = commands[name];
  if (top?.raw) return (await top.run!({ path: `tropic ${name}`, args: argv.slice(1), flags: {}, json: false, out })) ?? 0;
  const r = resolveCommand(commands, argv);
  if ("help" in r) {
    (r.exitCode ? process.stderr : process.stdout).write(`${r.help}\n`);
    return r.exitCode;
  }
  const ctx = parseCommand(r, out);
  if ("help" in ctx) {
    out(ctx.help);
    return 0;
  }
  try {
    return (await r.cmd.run!(ctx)) ?? 0;
  } catch (err) {
    if (err instanceof ApiError) throw new CliError(inCliWords(err, r.cmd), err.exitCode);
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const code = err instanceof CliError ? err.exitCode : 1;
    process.stderr.write(`tropic: ${(err as Error).message}\n`);
    process.exitCode = code;
  },
);
