import { readFileSync } from "node:fs";
import type { ApiClient } from "../client.ts";
import { CliError } from "../client.ts";
import { keyValues, table } from "../output.ts";
import { readStdin } from "../prompt.ts";
import type { Command, Context } from "./index.ts";
import { authed, need } from "./session.ts";

type Row = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function print(ctx: Context, data: unknown, human: () => string) {
  ctx.out(ctx.json ? JSON.stringify(data) : human());
}

/** Lets people type an instance's name where an id is expected. */
async function instanceId(api: ApiClient, ref: string): Promise<string> {
  if (UUID.test(ref)) return ref;
  const { items } = await api.get<{ items: Row[] }>("/api/v1/instances?limit=200");
  const hits = items.filter((i) => i.name === ref);
  if (hits.length === 1) return hits[0]!.id as string;
  throw new CliError(hits.length ? `more than one instance is named "${ref}"; use its id` : `no instance named "${ref}"; see tropic instances ls`);
}

function sub(ctx: Context, table_: Record<string, (ctx: Context) => Promise<number | undefined>>, noun: string) {
  const verb = ctx.args[0];
  const fn = verb ? table_[verb] : undefined;
  if (!fn) throw new CliError(`usage: tropic ${noun} ${Object.keys(table_).join("|")}`, 2);
  return fn({ ...ctx, args: ctx.args.slice(1) });
}

const INSTANCE_COLS = ["id", "name", "provider", "region", "instanceType", "state", "desiredState"];

export const resourceCommands: Record<string, Command> = {
  instances: {
    options: { provider: { type: "string" }, region: { type: "string" }, type: { type: "string" } },
    run: (ctx) =>
      sub(
        ctx,
        {
          async ls(c) {
            const data = await authed(c).get<{ items: Row[] }>("/api/v1/instances?limit=200");
            print(c, data.items, () => table(data.items, INSTANCE_COLS));
            return 0;
          },
          async create(c) {
            const body: Row = { name: need(c, 0, "instance NAME") };
            if (c.flags.provider) body.provider = c.flags.provider;
            if (c.flags.region) body.region = c.flags.region;
            if (c.flags.type) body.instanceType = c.flags.type;
            const row = await authed(c).post<Row>("/api/v1/instances", body);
            print(c, row, () => `Created instance ${row.name} (${row.id}), ${row.provider}/${row.region}/${row.instanceType}: ${row.state}.`);
            return 0;
          },
          ...Object.fromEntries(
            (["start", "stop", "restart"] as const).map((verb) => [
              verb,
              async (c: Context) => {
                const api = authed(c);
                const id = await instanceId(api, need(c, 0, "instance ID or name"));
                const row = await api.post<Row>(`/api/v1/instances/${id}/${verb}`);
                print(c, row, () => `Instance ${row.name}: desired ${row.desiredState}, now ${row.state}.`);
                return 0;
              },
            ]),
          ),
          async rm(c) {
            const api = authed(c);
            const id = await instanceId(api, need(c, 0, "instance ID or name"));
            const row = await api.del<Row>(`/api/v1/instances/${id}`);
            print(c, row, () => `Instance ${id} is being deleted.`);
            return 0;
          },
        },
        "instances",
      ),
  },
  templates: {
    run: (ctx) =>
      sub(
        ctx,
        {
          async ls(c) {
            const { items } = await authed(c).get<{ items: Row[] }>("/api/v1/marketplace/templates");
            print(c, items, () => table(items, ["id", "name", "category", "defaultModel", "tagline"]));
            return 0;
          },
        },
        "templates",
      ),
  },
  agents: {
    options: {
      instance: { type: "string" },
      name: { type: "string" },
      model: { type: "string" },
      policy: { type: "string" },
      slug: { type: "string" },
    },
    run: (ctx) =>
      sub(
        ctx,
        {
          async ls(c) {
            const api = authed(c);
            const q = c.flags.instance ? `&instanceId=${await instanceId(api, String(c.flags.instance))}` : "";
            const { items } = await api.get<{ items: Row[] }>(`/api/v1/agents?limit=200${q}`);
            print(c, items, () => table(items, ["id", "slug", "name", "templateId", "model", "state", "instanceId"]));
            return 0;
          },
          async deploy(c) {
            const api = authed(c);
            if (!c.flags.instance) throw new CliError("--instance is required (an instance id or name)", 2);
            const body: Row = {
              templateId: need(c, 0, "TEMPLATE id (see tropic templates ls)"),
              instanceId: await instanceId(api, String(c.flags.instance)),
            };
            for (const k of ["name", "model", "slug"] as const) if (c.flags[k]) body[k] = c.flags[k];
            if (c.flags.policy) body.policyId = c.flags.policy;
            const row = await api.post<Row>("/api/v1/agents", body);
            print(c, row, () => `Deployed agent ${row.slug} (${row.id}) from ${row.templateId}: ${row.state}.`);
            return 0;
          },
          async stop(c) {
            const row = await authed(c).post<Row>(`/api/v1/agents/${need(c, 0, "agent ID")}/stop`);
            print(c, row, () => `Agent ${row.slug}: ${row.state}.`);
            return 0;
          },
          async rm(c) {
            await authed(c).del(`/api/v1/agents/${need(c, 0, "agent ID")}`);
            print(c, { deleted: true }, () => "Agent deleted.");
            return 0;
          },
        },
        "agents",
      ),
  },
  policy: {
    options: { agent: { type: "string" } },
    run: (ctx) =>
      sub(
        ctx,
        {
          async check(c) {
            const { policyCheckCommand } = await import("@tropic/policy/cli.ts");
            return policyCheckCommand(c.args, { stdout: process.stdout, stderr: process.stderr });
          },
          async ls(c) {
            const { items } = await authed(c).get<{ items: Row[] }>("/api/v1/policies?limit=200");
            print(c, items, () =>
              table(
                items.map((p) => ({ ...p, rules: (p.rules as unknown[]).length })),
                ["id", "name", "version", "mode", "rules"],
              ),
            );
            return 0;
          },
          async show(c) {
            const p = await authed(c).get<Row & { rules: Row[] }>(`/api/v1/policies/${need(c, 0, "policy ID")}`);
            print(c, p, () => `${p.name} (v${p.version}, ${p.mode})\n${table(p.rules, ["line", "effect", "explanation"])}`);
            return 0;
          },
          async set(c) {
            const api = authed(c);
            const name = need(c, 0, "policy NAME");
            const file = need(c, 1, "policy FILE");
            let text: string;
            try {
              text = readFileSync(file, "utf8");
            } catch {
              throw new CliError(`cannot read ${file}`, 2);
            }
            const { items } = await api.get<{ items: Row[] }>("/api/v1/policies?limit=200");
            const existing = items.find((p) => p.name === name);
            const saved = existing
              ? await api.put<Row>(`/api/v1/policies/${existing.id}`, { text })
              : await api.post<Row>("/api/v1/policies", { name, text });
            if (c.flags.agent) await api.patch(`/api/v1/agents/${c.flags.agent}`, { policyId: saved.id });
            print(
              c,
              saved,
              () => `Saved policy ${name} v${saved.version} (${saved.id})${c.flags.agent ? `, attached to agent ${c.flags.agent}` : ""}.`,
            );
            return 0;
          },
        },
        "policy",
      ),
  },
  settings: {
    run: (ctx) =>
      sub(
        ctx,
        {
          async get(c) {
            const s = await authed(c).get<Row>("/api/v1/settings");
            print(c, s, () => keyValues(s));
            return 0;
          },
          async set(c) {
            if (!c.args.length) throw new CliError("usage: tropic settings set key=value ...", 2);
            const body = Object.fromEntries(c.args.map(parseSetting));
            const s = await authed(c).patch<Row>("/api/v1/settings", body);
            print(c, s, () => keyValues(s));
            return 0;
          },
        },
        "settings",
      ),
  },
  credentials: {
    run: (ctx) =>
      sub(
        ctx,
        {
          async ls(c) {
            const { items } = await authed(c).get<{ items: Row[] }>("/api/v1/credentials");
            print(c, items, () => table(items, ["name", "last4", "fingerprint", "updatedAt"]));
            return 0;
          },
          async set(c) {
            const name = need(c, 0, "credential NAME");
            if (process.stdin.isTTY) process.stderr.write(`Paste the value of ${name}, then press Ctrl+D:\n`);
            const value = (await readStdin()).replace(/\r?\n$/, "");
            if (!value) throw new CliError("no value on stdin", 2);
            const row = await authed(c).put<Row>(`/api/v1/credentials/${encodeURIComponent(name)}`, { value });
            print(c, row, () => `Stored ${name} (…${row.last4 || "hidden"}), encrypted.`);
            return 0;
          },
          async rm(c) {
            const name = need(c, 0, "credential NAME");
            await authed(c).del(`/api/v1/credentials/${encodeURIComponent(name)}`);
            print(c, { deleted: name }, () => `Deleted ${name}.`);
            return 0;
          },
        },
        "credentials",
      ),
  },
  credits: {
    async run(ctx) {
      const api = authed(ctx);
      const ledger = await api.get<{ balance: number; ledger: Row[] }>("/api/v1/credits?limit=20");
      const usage = await api.get<CreditUsage>("/api/v1/credits/usage");
      const data = { ...ledger, usage };
      print(ctx, data, () => {
        const cap = usage.today.dailyCreditCap === null ? "" : ` of a ${usage.today.dailyCreditCap} cap`;
        const out = usage.runsOutAt
          ? `${new Date(usage.runsOutAt).toISOString().replace(/:\d\d\.\d+Z$/, "Z")} (in ${usage.hoursLeft} h at this rate)`
          : "never at this rate (nothing is burning credits)";
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
          `Runs out: ${out}`,
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

/** GET /api/v1/credits/usage (server/src/credits/usage.ts). */
interface CreditUsage {
  balance: number;
  burnRate: number;
  runsOutAt: string | null;
  hoursLeft: number | null;
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

const LIST_SETTINGS = new Set(["sshAllowlist", "phonePatterns"]);

/** key=value → typed JSON: true/false, null, numbers, and comma lists for the list settings. */
export function parseSetting(arg: string): [string, unknown] {
  const i = arg.indexOf("=");
  if (i <= 0) throw new CliError(`"${arg}" is not key=value`, 2);
  const key = arg.slice(0, i);
  const raw = arg.slice(i + 1);
  if (LIST_SETTINGS.has(key)) return [key, raw === "" ? [] : raw.split(",").map((s) => s.trim())];
  if (raw === "true" || raw === "false") return [key, raw === "true"];
  if (raw === "null") return [key, null];
  if (/^-?\d+(\.\d+)?$/.test(raw)) return [key, Number(raw)];
  return [key, raw];
}
