// `tropic policy check FILE`: exit 0 and print each rule's explanation, or exit 1 with `line N: …`.
import { readFile } from "node:fs/promises";
import { compilePolicy } from "./compile.ts";

export async function policyCheckCommand(args: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number> {
  const rest = args[0] === "check" ? args.slice(1) : args;
  const file = rest.find((a) => !a.startsWith("-"));
  if (!file) {
    io.stderr.write("usage: tropic policy check FILE\n");
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    io.stderr.write(`cannot read ${file}: ${(e as Error).message}\n`);
    return 2;
  }
  const r = compilePolicy(text, { policyId: "policy" });
  if (!r.ok) {
    for (const e of r.errors) {
      io.stderr.write(`line ${e.line}: ${e.message}\n`);
      if (e.suggestions?.length) io.stderr.write(`  did you mean: ${e.suggestions.map((s) => `"${s}"`).join(", ")}\n`);
    }
    return 1;
  }
  if (r.policy.mode === "lockdown") io.stdout.write("mode: lockdown (only what an ALLOW rule names may run)\n");
  for (const rule of r.policy.rules) io.stdout.write(`line ${rule.line}: ${rule.text}\n  ${rule.explanation}\n`);
  if (!r.policy.rules.length) io.stdout.write("no rules\n");
  return 0;
}
