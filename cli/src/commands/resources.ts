import { readFileSync } from "node:fs";
import type { ApiClient } from "../client.ts";
import { ApiError, CliError } from "../client.ts";
import { table } from "../output.ts";
import { readStdin } from "../prompt.ts";
import type { Command, Context, FieldWords, Option } from "./index.ts";
import { instanceNames, listAll, resolveAgent, resolveInstance, resolvePolicy, resolveTemplate, type Row, shellArg } from "./resolve.ts";
import { authed, print } from "./session.ts";

const INSTANCE_COLS = ["id", "name", "provider", "region", "instanceType", "state", "desiredState"];

interface ProviderRow {
  id: string;
  label: string;
  available: boolean;
  message: string | null;
  regions: string[];
  defaultRegion: string;
  instanceTypes: { id: string; vcpu: number; memoryGb: number; creditsPerHour: number | null }[];
  defaultInstanceType: string;
}

const instanceOpt: Option = { type: "string", value: "INSTANCE", help: "the instance: its name or id (tropic instances ls)" };

/** start, stop and restart: one instance, by name or id. */
function instanceAction(verb: "start" | "stop" | "restart", summary: string): Command {
  return {
    usage: "INSTANCE",
    args: ["INSTANCE"],
    summary,
    async run(c) {
      const api = authed(c);
      const inst = await resolveInstance(api, c.args[0]!);
      const row = await api.post<Row>(`/api/v1/instances/${inst.id}/${verb}`);
      print(c, row, () => `Instance ${row.name}: desired ${row.desiredState}, now ${row.state}.`);
      return 0;
    },
  };
}

/** What `instances connect` and `instances enrolment` get back (routes/hosts.ts). */
type Enrolment = { instance: Row & { id: string; name: string }; enrolment: { token: string; expiresAt: string; command: string } };

function enrolmentText(r: Enrolment, first: string): string {
  return [
    first,
    "Run this in a terminal on the machine (macOS or Linux with systemd); it works once, until " +
      `${new Date(r.enrolment.expiresAt).toISOString().replace(/\.\d+Z$/, "Z")}:`,
    "",
    `  ${r.enrolment.command}`,
    "",
    `Then tropic instances ls shows it running. A new one-liner: tropic instances enrolment ${shellArg(r.instance.name)}`,
  ].join("\n");
}

/** What `agents deploy` sends, in its own words. */
const DEPLOY_FIELDS: Record<string, FieldWords> = {
  templateId: { as: "TEMPLATE", next: "tropic templates ls" },
  instanceId: { as: "--instance", next: "tropic instances ls" },
  policyId: { as: "--policy", next: "tropic policy ls" },
  name: { as: "--name" },
  slug: { as: "--slug", next: "tropic agents ls" },
  model: { as: "--model" },
};

export const resourceCommands: Record<string, Command> = {
  instances: {
    verbs: {
      ls: {
        summary: "your instances and their state",
        async run(c) {
          const items = await listAll(authed(c), "/api/v1/instances");
          print(c, items, () => table(items, INSTANCE_COLS));
          return 0;
        },
      },
      create: {
        usage: "NAME [--provider local|aws] [--region R] [--type T]",
        args: ["NAME"],
        summary:
          "a new instance (local: a sandboxed OpenClaw gateway on the Tropic host; aws: an EC2 VM of its own); NAME must be new. tropic instances providers lists what this server offers",
        options: {
          provider: {
            type: "string",
            value: "PROVIDER",
            help: "where it runs: local (default), or aws where the server has AWS configured (it says what to set otherwise)",
          },
          region: { type: "string", value: "REGION", help: "aws: us-east-1, ap-southeast-1, eu-west-1 or eu-west-2 (default: the first configured)" },
          type: { type: "string", value: "TYPE", help: "aws: t3.micro (default), t3.small or t3.medium (2 vCPU, 4 GB)" },
        },
        fields: {
          name: { as: "NAME", next: "tropic instances ls" },
          provider: { as: "--provider" },
          region: { as: "--region" },
          instanceType: { as: "--type" },
        },
        async run(c) {
          const body: Row = { name: c.args[0] };
          if (c.flags.provider) body.provider = c.flags.provider;
          if (c.flags.region) body.region = c.flags.region;
          if (c.flags.type) body.instanceType = c.flags.type;
          const row = await authed(c).post<Row>("/api/v1/instances", body);
          print(c, row, () => `Created instance ${row.name} (${row.id}), ${row.provider}/${row.region}/${row.instanceType}: ${row.state}.`);
          return 0;
        },
      },
      providers: {
        summary:
          "where instances can run on this server: regions, instance types with their credits per hour, and what to configure for those not available",
        async run(c) {
          const { items } = await authed(c).get<{ items: ProviderRow[] }>("/api/v1/providers");
          print(c, items, () =>
            items
              .map((p) =>
                [
                  `${p.id} (${p.label}): ${p.available ? "available" : `not available. ${p.message ?? ""}`}`,
                  ...(p.id === "aws"
                    ? [
                        `  regions: ${p.regions.join(", ")} (default ${p.defaultRegion})`,
                        ...p.instanceTypes.map(
                          (t) =>
                            `  ${t.id}${t.id === p.defaultInstanceType ? " (default)" : ""}: ${t.vcpu} vCPU, ${t.memoryGb} GB, ${t.creditsPerHour ?? "?"} credits/h`,
                        ),
                      ]
                    : []),
                ].join("\n"),
              )
              .join("\n"),
          );
          return 0;
        },
      },
      connect: {
        usage: "NAME",
        args: ["NAME"],
        summary: "connect your own Mac or Linux machine as instance NAME: prints the one-liner to run on it",
        fields: { name: { as: "NAME", next: "tropic instances ls" } },
        async run(c) {
          const r = await authed(c).post<Enrolment>("/api/v1/instances/connect", { name: c.args[0] });
          print(c, r, () => enrolmentText(r, `Created instance ${r.instance.name} (${r.instance.id}) for your machine.`));
          return 0;
        },
      },
      enrolment: {
        usage: "INSTANCE",
        args: ["INSTANCE"],
        summary: "a new one-liner for your machine's instance (the last one expired, or to install it again)",
        async run(c) {
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const r = await api.post<Enrolment>(`/api/v1/instances/${inst.id}/enrolment`);
          print(c, r, () => enrolmentText(r, `A new one-liner for ${r.instance.name} (${r.instance.id}); earlier ones no longer work.`));
          return 0;
        },
      },
      start: instanceAction("start", "start it (and keep it running)"),
      stop: {
        usage: "INSTANCE | --all",
        args: ["[INSTANCE]"],
        summary: "stop it (--all: every instance of yours, e.g. before you stop `tropic serve`)",
        options: { all: { type: "boolean", help: "stop every instance of yours" } },
        async run(c) {
          const api = authed(c);
          if (c.flags.all === true) {
            if (c.args[0]) throw new CliError("give INSTANCE or --all, not both", 2);
            const { items } = await api.get<{ items: Row[] }>("/api/v1/instances?limit=200");
            const stopped: Row[] = [];
            for (const i of items.filter((x) => x.desiredState !== "stopped")) stopped.push(await api.post<Row>(`/api/v1/instances/${i.id}/stop`));
            print(c, stopped, () =>
              stopped.length
                ? stopped.map((r) => `Instance ${r.name}: desired ${r.desiredState}, now ${r.state}.`).join("\n")
                : "No instance was running.",
            );
            return 0;
          }
          if (!c.args[0]) throw new CliError("INSTANCE is missing: give an instance's name or id, or --all (tropic instances ls)", 2);
          return instanceAction("stop", "stop it").run!(c);
        },
      },
      restart: instanceAction("restart", "restart its OpenClaw gateway"),
      rm: {
        usage: "INSTANCE",
        args: ["INSTANCE"],
        summary: "delete it (its name is free again at once)",
        async run(c) {
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const row = await api.del<Row>(`/api/v1/instances/${inst.id}`);
          print(c, row, () => `Instance ${inst.name} (${inst.id}) is being deleted.`);
          return 0;
        },
      },
    },
  },
  templates: {
    verbs: {
      ls: {
        summary: "the marketplace's agent templates",
        async run(c) {
          const { items } = await authed(c).get<{ items: Row[] }>("/api/v1/marketplace/templates");
          print(c, items, () => table(items, ["id", "name", "category", "defaultModel", "tagline"]));
          return 0;
        },
      },
    },
  },
  agents: {
    verbs: {
      ls: {
        usage: "[--instance INSTANCE]",
        summary: "your agents (on one instance)",
        options: { instance: instanceOpt },
        async run(c) {
          const api = authed(c);
          const inst = c.flags.instance ? await resolveInstance(api, String(c.flags.instance), "--instance") : undefined;
          const items = await listAll(api, `/api/v1/agents${inst ? `?instanceId=${inst.id}` : ""}`);
          const names = c.json ? new Map<string, string>() : await instanceNames(api);
          print(c, items, () =>
            table(
              items.map((a) => ({ ...a, instance: names.get(String(a.instanceId)) ?? a.instanceId })),
              ["id", "slug", "name", "templateId", "model", "state", "instance"],
            ),
          );
          return 0;
        },
      },
      deploy: {
        usage: "TEMPLATE --instance INSTANCE [--name N] [--slug S] [--model M] [--policy POLICY]",
        args: ["TEMPLATE"],
        summary: "an agent from a marketplace template (tropic templates ls)",
        options: {
          instance: { ...instanceOpt, help: "the instance to run it on: its name or id (required)" },
          name: { type: "string", value: "NAME", help: "its display name (default: the template's)" },
          slug: { type: "string", value: "SLUG", help: "its short name, unique on the instance (default: from the name)" },
          model: { type: "string", value: "MODEL", help: 'a preset model id or "<provider>/<model id>" (default: the template\'s)' },
          policy: { type: "string", value: "POLICY", help: "a policy to enforce: its name or id (tropic policy ls)" },
        },
        fields: DEPLOY_FIELDS,
        async run(c) {
          if (!c.flags.instance) throw new CliError(`--instance is required: ${c.path} TEMPLATE --instance INSTANCE (tropic instances ls)`, 2);
          const api = authed(c);
          // Everything it names is looked up first: a wrong one deploys nothing.
          const template = await resolveTemplate(api, c.args[0]!, "TEMPLATE");
          const inst = await resolveInstance(api, String(c.flags.instance), "--instance");
          const policy = c.flags.policy ? await resolvePolicy(api, String(c.flags.policy), "--policy") : undefined;
          const body: Row = { templateId: template.id, instanceId: inst.id };
          for (const k of ["name", "model", "slug"] as const) if (c.flags[k]) body[k] = c.flags[k];
          if (policy) body.policyId = policy.id;
          let row: Row;
          try {
            row = await api.post<Row>("/api/v1/agents", body);
          } catch (err) {
            const on = `instance ${inst.name}`;
            if (err instanceof ApiError && err.status === 409 && err.field === "slug")
              throw new CliError(
                `${err.message.replace(/ on this instance.*$/, ` on ${on}`)}; choose another --name or --slug (tropic agents ls --instance ${shellArg(inst.name)})`,
              );
            if (err instanceof ApiError && err.status === 409 && err.field === "instanceId")
              throw new CliError(`${err.message.replace("this instance", on)} (tropic agents stop AGENT)`);
            throw err;
          }
          print(c, row, () => `Deployed agent ${row.slug} (${row.id}) from ${row.templateId} on ${inst.name}: ${row.state}.`);
          return 0;
        },
      },
      stop: {
        usage: "AGENT [--instance INSTANCE]",
        args: ["AGENT"],
        summary: "stop an agent (by id, slug or name)",
        options: { instance: { ...instanceOpt, help: "where to look for AGENT when its name is used on several instances" } },
        async run(c) {
          const api = authed(c);
          const agent = await findAgent(api, c, c.args[0]!);
          const row = await api.post<Row>(`/api/v1/agents/${agent.id}/stop`);
          print(c, row, () => `Agent ${row.slug}: ${row.state}.`);
          return 0;
        },
      },
      rm: {
        usage: "AGENT [--instance INSTANCE]",
        args: ["AGENT"],
        summary: "delete an agent (by id, slug or name)",
        options: { instance: { ...instanceOpt, help: "where to look for AGENT when its name is used on several instances" } },
        async run(c) {
          const api = authed(c);
          const agent = await findAgent(api, c, c.args[0]!);
          await api.del(`/api/v1/agents/${agent.id}`);
          print(c, { deleted: agent.id }, () => `Agent ${agent.slug} deleted.`);
          return 0;
        },
      },
    },
  },
  policy: {
    verbs: {
      check: {
        usage: "FILE",
        args: ["FILE"],
        summary: "compile a policy locally: each rule explained, or its line errors",
        async run(c) {
          const { policyCheckCommand } = await import("@tropic/policy/cli.ts");
          return policyCheckCommand(c.args, { stdout: process.stdout, stderr: process.stderr });
        },
      },
      ls: {
        summary: "your policies",
        async run(c) {
          const items = await listAll(authed(c), "/api/v1/policies");
          print(c, items, () =>
            table(
              items.map((p) => ({ ...p, rules: (p.rules as unknown[]).length })),
              ["id", "name", "version", "mode", "rules"],
            ),
          );
          return 0;
        },
      },
      show: {
        usage: "POLICY",
        args: ["POLICY"],
        summary: "a policy's rules, explained (by name or id)",
        async run(c) {
          const api = authed(c);
          const p = (await resolvePolicy(api, c.args[0]!)) as Row & { rules: Row[] };
          print(c, p, () => `${p.name} (v${p.version}, ${p.mode})\n${table(p.rules, ["line", "effect", "explanation"])}`);
          return 0;
        },
      },
      set: {
        usage: "NAME FILE [--agent AGENT [--instance INSTANCE]]",
        args: ["NAME", "FILE"],
        summary: "save FILE as policy NAME (a new version if NAME exists), and attach it to an agent",
        options: {
          agent: { type: "string", value: "AGENT", help: "attach it to this agent: its id, slug or name (tropic agents ls)" },
          instance: { ...instanceOpt, help: "where to look for --agent when its name is used on several instances" },
        },
        fields: { name: { as: "NAME", next: "tropic policy ls" }, text: { as: "FILE" }, policyId: { as: "--policy" } },
        run: policySet,
      },
      rm: {
        usage: "POLICY",
        args: ["POLICY"],
        summary: "delete a policy (agents using it keep running without it)",
        async run(c) {
          const api = authed(c);
          const p = await resolvePolicy(api, c.args[0]!);
          await api.del(`/api/v1/policies/${p.id}`);
          print(c, { deleted: p.id }, () => `Deleted policy ${p.name}.`);
          return 0;
        },
      },
    },
  },
  credentials: {
    verbs: {
      ls: {
        summary: "your stored secrets (names and last 4 characters only)",
        async run(c) {
          const { items } = await authed(c).get<{ items: Row[] }>("/api/v1/credentials");
          print(c, items, () => table(items, ["name", "last4", "fingerprint", "updatedAt"]));
          return 0;
        },
      },
      set: {
        usage: "NAME   (the value on stdin)",
        args: ["NAME"],
        summary: "store a secret, encrypted, e.g. ANTHROPIC_API_KEY",
        fields: { name: { as: "NAME" }, value: { as: "the value (stdin)" } },
        async run(c) {
          const name = c.args[0]!;
          const api = authed(c);
          if (process.stdin.isTTY) process.stderr.write(`Paste the value of ${name}, then press Ctrl+D:\n`);
          const value = (await readStdin()).replace(/\r?\n$/, "");
          if (!value) throw new CliError(`no value on stdin for ${name}: echo VALUE | ${c.path} ${name}`, 2);
          const row = await api.put<Row>(`/api/v1/credentials/${encodeURIComponent(name)}`, { value });
          print(c, row, () => `Stored ${name} (…${row.last4 || "hidden"}), encrypted.`);
          return 0;
        },
      },
      rm: {
        usage: "NAME",
        args: ["NAME"],
        summary: "delete a stored secret",
        fields: { name: { as: "NAME", next: "tropic credentials ls" } },
        async run(c) {
          const name = c.args[0]!;
          await authed(c).del(`/api/v1/credentials/${encodeURIComponent(name)}`);
          print(c, { deleted: name }, () => `Deleted ${name}.`);
          return 0;
        },
      },
    },
  },
  credits: {
    summary: "balance, burn rate, run-out forecast, spend per instance, recent ledger",
    async run(ctx) {
      const api = authed(ctx);
      const ledger = await api.get<{ balance: number; ledger: Row[] }>("/api/v1/credits?limit=20");
      const usage = await api.get<CreditUsage>("/api/v1/credits/usage");
      const data = { ...ledger, usage };
      print(ctx, data, () => {
        const cap = usage.today.dailyCreditCap === null ? "" : ` of a ${usage.today.dailyCreditCap} cap`;
        // The same sentence the dashboard shows (the usage API's forecast), and the date when credits run out.
        const when =
          usage.forecast?.status === "runs_out" && usage.runsOutAt
            ? ` (${new Date(usage.runsOutAt).toISOString().replace(/:\d\d\.\d+Z$/, "Z")}, in ${usage.hoursLeft} h)`
            : "";
        const out = `${usage.forecast?.summary ?? (usage.runsOutAt ? "credits run out at this rate" : "nothing is charged at this rate")}${when}`;
        const rows = usage.instances.map((i) => ({
          instance: i.name ?? `${i.id.slice(0, 8)} (deleted)`,
          type: i.instanceType ?? "",
          state: i.state ?? "",
          "cr/hr": i.burnRate,
          today: i.spentToday,
          month: i.spentThisMonth,
          why: i.stateReason ?? "",
        }));
        return [
          `Balance: ${usage.balance} credits`,
          `Burn rate: ${usage.burnRate} credits/hour`,
          `Forecast: ${out}`,
          `Spent: ${usage.today.spent} today${cap}, ${usage.month.spent} this month`,
          "",
          table(rows, ["instance", "type", "state", "cr/hr", "today", "month", "why"]),
          "",
          table(ledger.ledger, ["createdAt", "kind", "credits", "note"]),
        ].join("\n");
      });
      return 0;
    },
  },
};

/** An agent named on the command line, narrowed by --instance when given. */
async function findAgent(api: ApiClient, c: Context, ref: string, flag?: string): Promise<Row> {
  const inst = c.flags.instance ? await resolveInstance(api, String(c.flags.instance), "--instance") : undefined;
  return resolveAgent(api, ref, flag, inst?.id as string | undefined);
}

/** One `line N: …` per problem (and its suggestions), as `tropic policy check` prints them. */
export function policyErrorLines(err: ApiError): string[] | undefined {
  const errors = (err.details as { errors?: { line?: number; message?: string; suggestions?: string[] }[] } | undefined)?.errors;
  if (err.field !== "text" || !Array.isArray(errors) || !errors.length) return undefined;
  return errors.flatMap((e) => {
    const msg = String(e.message ?? "");
    const lines = [e.line !== undefined && !msg.startsWith("line ") ? `line ${e.line}: ${msg}` : msg];
    if (e.suggestions?.length) lines.push(`  did you mean: ${e.suggestions.map((s) => `"${s}"`).join(", ")}`);
    return lines;
  });
}

/**
 * `tropic policy set NAME FILE [--agent AGENT]`: all of it or nothing. The file is read, the agent
 * looked up and the text compiled by the server before anything is saved; if attaching still fails
 * (the agent was deleted meanwhile), the save is undone.
 */
async function policySet(c: Context): Promise<number> {
  const [name, file] = c.args as [string, string];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`cannot read FILE ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, 2);
  }
  const api = authed(c);
  const agent = c.flags.agent ? await findAgent(api, c, String(c.flags.agent), "--agent") : undefined;
  try {
    await api.post("/api/v1/policies/validate", { text });
  } catch (err) {
    const lines = err instanceof ApiError ? policyErrorLines(err) : undefined;
    if (!lines) throw err;
    const n = lines.filter((l) => l.startsWith("line ")).length;
    throw new CliError([`${file} has ${n === 1 ? "an error" : `${n} errors`}; policy ${name} was not saved:`, ...lines].join("\n"));
  }
  const existing = (await listAll(api, "/api/v1/policies")).find((p) => p.name === name);
  const saved = existing ? await api.put<Row>(`/api/v1/policies/${existing.id}`, { text }) : await api.post<Row>("/api/v1/policies", { name, text });
  if (agent) {
    try {
      await api.patch(`/api/v1/agents/${agent.id}`, { policyId: saved.id });
    } catch (err) {
      const why = err instanceof ApiError && err.status === 404 ? `agent ${agent.slug} no longer exists` : (err as Error).message;
      const undo = existing
        ? api.put(`/api/v1/policies/${existing.id}`, { name: existing.name, text: existing.text })
        : api.del(`/api/v1/policies/${saved.id}`);
      const undone = await undo.then(
        () => true,
        () => false,
      );
      const outcome = !undone
        ? `policy ${name} WAS saved (v${saved.version}) and could not be undone`
        : existing
          ? `policy ${name} has its previous text again`
          : `policy ${name} was not kept`;
      throw new CliError(`could not attach policy ${name} to --agent ${c.flags.agent}: ${why}; ${outcome}`);
    }
  }
  print(c, saved, () => `Saved policy ${name} v${saved.version} (${saved.id})${agent ? `, attached to agent ${agent.slug}` : ""}.`);
  return 0;
}

/** GET /api/v1/credits/usage (server/src/credits/usage.ts). */
interface CreditUsage {
  balance: number;
  burnRate: number;
  runsOutAt: string | null;
  hoursLeft: number | null;
  /** one sentence the dashboard shows too (GET /api/v1/credits/usage) */
  forecast?: { status: string; summary: string };
  today: { spent: number; dailyCreditCap: number | null };
  month: { spent: number };
  instances: {
    id: string;
    name: string | null;
    instanceType: string | null;
    state: string | null;
    stateReason: string | null;
    burnRate: number;
    spentToday: number;
    spentThisMonth: number;
  }[];
}
