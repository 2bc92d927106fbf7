// `tropic gate eval|redact`: JSON lines in, JSON lines out, streamed in order.
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { GateSettings } from "@tropic/policy";
import { Gate } from "./engine.ts";
import type { PackName } from "./packs/index.ts";
import { redactSecrets } from "./redact.ts";

type IO = { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
const opt = (args: string[], name: string) => {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
};

export async function gateCommand(args: string[], io: IO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "eval") return evalCmd(rest, io);
  if (sub === "redact") return redactCmd(rest, io);
  io.stderr.write(
    "usage: tropic gate eval [--packs base,system,owasp|none] [--policy FILE] [--settings FILE]\n       tropic gate redact [--jsonl]\n",
  );
  return 2;
}

async function evalCmd(args: string[], io: IO): Promise<number> {
  const packsArg = opt(args, "--packs") ?? "base";
  const packs =
    packsArg === "none"
      ? []
      : (packsArg
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean) as PackName[]);
  let gate: Gate;
  try {
    const policyFile = opt(args, "--policy");
    const settingsFile = opt(args, "--settings");
    const policies: Record<string, string> = policyFile ? { "*": await readFile(policyFile, "utf8") } : {};
    const settings = settingsFile ? (JSON.parse(await readFile(settingsFile, "utf8")) as GateSettings) : undefined;
    gate = await Gate.create({ packs, policies, settings, workspace: opt(args, "--workspace"), home: opt(args, "--home") });
  } catch (e) {
    io.stderr.write(`${(e as Error).message}\n`);
    return 1;
  }
  const rl = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let out: unknown;
    try {
      out = gate.decide(JSON.parse(line));
    } catch (e) {
      out = { decision: "deny", rules: ["tropic-fail-closed"], reason: `Blocked: unparseable input (${(e as Error).message}); failing closed.` };
    }
    io.stdout.write(`${JSON.stringify(out)}\n`);
  }
  return 0;
}

async function redactCmd(args: string[], io: IO): Promise<number> {
  if (args.includes("--jsonl")) {
    const rl = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) {
      if (!line.trim()) continue;
      let text = "";
      try {
        const v = JSON.parse(line) as { text?: unknown };
        text = typeof v.text === "string" ? v.text : JSON.stringify(v.text ?? "");
      } catch {
        text = line; // not JSON: redact the raw line rather than echo a secret
      }
      io.stdout.write(`${JSON.stringify({ text: redactSecrets(text).text })}\n`);
    }
    return 0;
  }
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  io.stdout.write(redactSecrets(Buffer.concat(chunks).toString("utf8")).text);
  return 0;
}
