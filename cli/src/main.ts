import { parseArgs } from "node:util";
import { commands, type Context } from "./commands/index.ts";
import { CliError } from "./client.ts";

const HELP = `tropic — your own managed, policy-gated OpenClaw instance

Usage: tropic <command> [options]   (every command takes --json for scripts, --url to pick a server)

  serve [--port 8080] [--host 127.0.0.1]     run the control plane (embedded database by default)
  signup --email E [--password-stdin]        create an account and log in
  login --email E [--password-stdin] | --token T   store an API token for this CLI (0600)
  logout | whoami
  instances ls | create NAME [--provider local|aws|byo] [--region R] [--type T]
            | start ID | stop ID | restart ID | rm ID      (ID may be the instance's name)
  templates ls                               marketplace agent templates
  agents ls [--instance ID] | deploy TEMPLATE --instance ID [--name N] [--model M] [--policy ID]
         | stop ID | rm ID
  policy check FILE                          compile a policy locally: explanations, or line errors
  policy ls | show ID | set NAME FILE [--agent ID]   save a policy (and attach it to an agent)
  settings get | set key=value ...           e.g. blockBrowser=true dailyCreditCap=500 phonePatterns=+65*,+44*
  credentials ls | set NAME (value on stdin) | rm NAME
  credits                                    balance and recent ledger
  ssh-key show | download [--out FILE] | rotate   your instances' SSH key (tropic-vm-key.pem, 0600)
  keys rewrap                                move every secret to the current key-encryption key
  gate eval|redact                           run the tool-call gate locally (see docs/gate.md)

Environment: TROPIC_URL, TROPIC_TOKEN override the stored login.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) throw new CliError(`unknown command "${name}"; run tropic --help`, 2);
  if (cmd.raw) return (await cmd.run({ args: rest, flags: {}, json: false, out: (s) => process.stdout.write(`${s}\n`) })) ?? 0;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...cmd.options, json: { type: "boolean" }, url: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new CliError(`${(err as Error).message.split("\n")[0]} (run tropic --help)`, 2);
  }
  const ctx: Context = {
    args: parsed.positionals,
    flags: parsed.values as Record<string, string | boolean | undefined>,
    json: parsed.values.json === true,
    out: (s: string) => process.stdout.write(`${s}\n`),
  };
  return (await cmd.run(ctx)) ?? 0;
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
