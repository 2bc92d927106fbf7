// `tropic gate on|off INSTANCE [--packs base,system,owasp] [--yes]`: the instance's tool-call gate
// (Sondera), the same switch as the Skills drawer's first entry (docs/security.md "Turning the gate
// off"). Off asks for confirmation (or --yes); `tropic gate status INSTANCE` shows what the instance
// reports. The control plane records it and the instance's agent applies it.
import { createInterface } from "node:readline";
import { CliError } from "../client.ts";
import type { Command, Context } from "./index.ts";
import { resolveInstance, shellArg } from "./resolve.ts";
import { authed, print } from "./session.ts";

const PACKS = ["base", "system", "owasp"] as const;
type Packs = Record<(typeof PACKS)[number], boolean>;
interface Gate {
  enabled: boolean;
  packs: Packs;
  observed: { enabled: boolean; packs: Packs } | null;
  pending: boolean;
  off: boolean;
}
interface Inst {
  id: string;
  name: string;
  state: string;
  gate: Gate;
}

/** `--packs base,system` → every pack, on when listed. */
export function parsePacks(v: string): Packs {
  const names = v
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const n of names)
    if (!(PACKS as readonly string[]).includes(n)) throw new CliError(`--packs: unknown pack "${n}" (the packs are base, system and owasp)`, 2);
  return { base: names.includes("base"), system: names.includes("system"), owasp: names.includes("owasp") };
}

const onPacks = (p: Packs) => PACKS.filter((k) => p[k]).join(", ") || "none";

export function gateText(i: Inst): string {
  const g = i.gate;
  const lines = [`Gate on ${i.name}: ${g.enabled ? "on" : "OFF"} (packs: ${onPacks(g.packs)})`];
  if (i.state !== "running") lines.push(`The instance is ${i.state}: it applies this when it runs.`);
  else if (g.pending) lines.push("The instance has not applied it yet.");
  else if (g.off) lines.push("The instance runs without its gate: its tool calls are not checked.");
  else lines.push("The instance's gateway has it: every tool call is checked.");
  return lines.join("\n");
}

function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    rl.question(question, (a) => {
      rl.close();
      resolve(a);
    });
  });
}

async function confirmOff(c: Context, name: string) {
  if (c.flags.yes === true) return;
  if (!process.stdin.isTTY)
    throw new CliError(`turning the gate off needs confirmation: run it in a terminal or add --yes (see ${c.path} --help)`, 2);
  const a = await ask(`Turn the gate off on ${name}? Its agents' tool calls will not be checked until you turn it on again. [y/N] `);
  if (!/^y(es)?$/i.test(a.trim())) throw new CliError("not changed: the gate stays on", 1);
}

const instanceArg = { id: { next: "tropic instances ls" } };

export const gateCommands: Record<string, Command> = {
  gate: {
    summary: "turn an instance's tool-call gate (Sondera) on or off, choose its rule packs, or show its state",
    verbs: {
      on: {
        usage: "INSTANCE [--packs base,system,owasp]",
        args: ["INSTANCE"],
        summary: "turn the gate on (at once on a running instance); --packs sets the rule packs (base stays on)",
        options: { packs: { type: "string", value: "PACKS", help: "the rule packs to run, comma-separated: base (required), system, owasp" } },
        fields: { ...instanceArg, packs: { as: "--packs" } },
        async run(c) {
          const packs = c.flags.packs === undefined ? undefined : parsePacks(String(c.flags.packs));
          if (packs && !packs.base)
            throw new CliError(
              `--packs must include base: the base pack stays on while the gate is on (it protects Tropic's own defences); to run without the gate: tropic gate off ${shellArg(c.args[0]!)}`,
              2,
            );
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const r = await api.put<Inst>(`/api/v1/instances/${inst.id}/gate`, { enabled: true, ...(packs ? { packs } : {}) });
          print(c, r, () => gateText(r));
          return 0;
        },
      },
      off: {
        usage: "INSTANCE [--yes]",
        args: ["INSTANCE"],
        summary: "turn the gate off: the instance's tool calls are no longer checked (asks first; recorded in your audit log)",
        options: {
          yes: { type: "boolean", short: "y", help: "do not ask for confirmation" },
          packs: { type: "string", value: "PACKS", help: "not with off: the packs apply while the gate is on (tropic gate on INSTANCE --packs …)" },
        },
        fields: instanceArg,
        async run(c) {
          if (c.flags.packs !== undefined)
            throw new CliError(`--packs goes with \`tropic gate on\`: the packs apply while the gate is on (see ${c.path} --help)`, 2);
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          await confirmOff(c, String(inst.name));
          const r = await api.put<Inst>(`/api/v1/instances/${inst.id}/gate`, { enabled: false });
          print(c, r, () => gateText(r));
          return 0;
        },
      },
      status: {
        usage: "INSTANCE",
        args: ["INSTANCE"],
        summary: "whether the gate is on, its packs, and whether the instance has applied it",
        fields: instanceArg,
        async run(c) {
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const r = await api.get<Inst>(`/api/v1/instances/${inst.id}`);
          print(c, r, () => gateText(r));
          return 0;
        },
      },
    },
  },
};
