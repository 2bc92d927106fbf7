// The command line: which command, its flags and arguments, its --help, and the API's field errors
// said in the command line's own words.
import { parseArgs } from "node:util";
import { type ApiError, CliError } from "./client.ts";
import type { Command, Context, Option } from "./commands/index.ts";

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Record<string, Option> = {
  json: { type: "boolean", help: "print JSON (for scripts)" },
  url: { type: "string", value: "URL", help: "the Tropic server (default: TROPIC_URL, else the stored login, else http://127.0.0.1:8080)" },
  help: { type: "boolean", short: "h", help: "show this help" },
};

export interface Resolved {
  cmd: Command;
  /** "tropic policy set" */
  path: string;
  rest: string[];
}

/** Follows verbs: ["policy", "set", "x"] → the `policy set` command with ["x"]. */
export function resolveCommand(top: Record<string, Command>, argv: string[]): Resolved | { help: string; exitCode: number } {
  const [name, ...rest] = argv;
  const cmd = name === undefined ? undefined : top[name];
  if (!cmd) throw new CliError(`unknown command "${name}"; run tropic --help`, 2);
  let r: Resolved = { cmd, path: `tropic ${name}`, rest };
  while (r.cmd.verbs) {
    const verbs = r.cmd.verbs;
    const [verb, ...more] = r.rest;
    if (verb === "--help" || verb === "-h" || verb === "help") return { help: helpOf(r.cmd, r.path), exitCode: 0 };
    if (verb === undefined || verb.startsWith("-")) {
      if (r.cmd.defaultVerb) {
        r = { cmd: verbs[r.cmd.defaultVerb]!, path: `${r.path} ${r.cmd.defaultVerb}`, rest: r.rest };
        continue;
      }
      throw new CliError(`"${r.path}" needs a command: ${Object.keys(verbs).join(", ")} (see ${r.path} --help)`, 2);
    }
    const next = verbs[verb];
    if (!next) throw new CliError(`unknown command "${r.path} ${verb}"; ${r.path} takes ${Object.keys(verbs).join(", ")} (see ${r.path} --help)`, 2);
    r = { cmd: next, path: `${r.path} ${verb}`, rest: more };
  }
  return r;
}

/** Parses flags and arguments strictly, with messages that name the flag and the command. */
export function parseCommand(r: Resolved, out: (s: string) => void): Context | { help: string } {
  const options = { ...(r.cmd.options ?? {}), ...GLOBAL_OPTIONS };
  const see = `(see ${r.path} --help)`;
  const { values, positionals, tokens } = parseArgs({
    args: r.rest,
    options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }])),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    const o = options[t.name];
    if (!o) throw new CliError(`unknown option ${t.rawName} for "${r.path}" ${see}`, 2);
    if (o.type === "string" && (t.value === undefined || t.value === ""))
      throw new CliError(`${t.rawName} needs a value: ${t.rawName} ${o.value ?? "VALUE"} ${see}`, 2);
    if (o.type === "boolean" && t.inlineValue) throw new CliError(`${t.rawName} takes no value ${see}`, 2);
  }
  if (values.help) return { help: helpOf(r.cmd, r.path) };
  const spec = r.cmd.args ?? [];
  const variadic = spec.at(-1)?.endsWith("...") ?? false;
  const required = spec.filter((a) => !a.startsWith("[")).length;
  if (positionals.length < required) {
    const missing = spec[positionals.length]!.replace(/\.\.\.$/, "");
    throw new CliError(`missing ${missing}: ${usageLine(r.cmd, r.path)} ${see}`, 2);
  }
  if (!variadic && positionals.length > spec.length) {
    const extra = positionals[spec.length]!;
    throw new CliError(`unexpected argument "${extra}" for "${r.path}": ${usageLine(r.cmd, r.path)} ${see}`, 2);
  }
  return {
    path: r.path,
    args: positionals,
    flags: values as Record<string, string | boolean | undefined>,
    json: values.json === true,
    out,
  };
}

export function usageLine(cmd: Command, path: string): string {
  return `${path}${cmd.usage ? ` ${cmd.usage}` : ""}`;
}

/** `tropic policy set --help`, or the list of a command's verbs. */
export function helpOf(cmd: Command, path: string): string {
  if (cmd.verbs) {
    const lines = Object.entries(cmd.verbs).map(([v, c]) => [usageLine(c, `${path} ${v}`), c.summary ?? ""] as const);
    const w = Math.max(...lines.map(([u]) => u.length));
    return [`usage:`, ...lines.map(([u, s]) => `  ${u.padEnd(w)}  ${s}`.trimEnd()), "", `Run ${path} COMMAND --help for one command's options.`].join(
      "\n",
    );
  }
  const opts = Object.entries({ ...(cmd.options ?? {}), ...GLOBAL_OPTIONS }).map(
    ([k, o]) => [`${o.short ? `-${o.short}, ` : ""}--${k}${o.value ? ` ${o.value}` : ""}`, o.help] as const,
  );
  const w = Math.max(...opts.map(([f]) => f.length));
  return [
    `usage: ${usageLine(cmd, path)}`,
    ...(cmd.summary ? ["", cmd.summary] : []),
    "",
    "options:",
    ...opts.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`),
  ].join("\n");
}

/**
 * An API error in the command line's words: the field becomes the flag or argument the user typed
 * (`policyId` → `--policy`), a validation message loses the API field name, and the command to run
 * next is added. Errors the command has no words for are passed on as the API said them.
 */
export function inCliWords(err: ApiError, cmd: Command): string {
  const field = err.field ?? "";
  const words = cmd.fields?.[field] ?? cmd.fields?.[field.split(".")[0]!];
  const msg = err.message;
  // A validation message ("name: must be …"): the field in the command line's words.
  if (field && msg.startsWith(`${field}: `)) {
    const rest = msg.slice(field.length + 2);
    const as = words?.as ?? field;
    return /^(must|is|are|has) /.test(rest) ? `${as} ${rest}` : `${as}: ${rest}`;
  }
  // A message in words ("an instance named "home" already exists"): and what to run next.
  return words?.next && !msg.includes(words.next) ? `${msg} (${words.next})` : msg;
}
