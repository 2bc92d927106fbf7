// Names where ids are expected: an instance, agent, policy or template may be given by id or by name.
// Each lookup reads the list first, so a command finds out that a name is wrong before it changes anything.
import type { ApiClient } from "../client.ts";
import { CliError } from "../client.ts";

export type Row = Record<string, unknown>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every item of a paginated list. */
export async function listAll<T = Row>(api: ApiClient, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page: { items: T[]; nextCursor?: string | null } = await api.get(
      `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor ?? null;
  } while (cursor);
  return items;
}

/** The rows `ref` names: by the first way of matching that finds any (an id before a name). */
function match<T extends Row>(rows: T[], ref: string, keys: ((row: T, ref: string) => boolean)[]): T[] {
  for (const key of keys) {
    const hits = rows.filter((r) => key(r, ref));
    if (hits.length) return hits;
  }
  return [];
}

/** The one row, or an error naming the flag (`--agent: …`) and the command that lists them. */
function one<T>(hits: T[], ref: string, o: { noun: string; list: string; flag?: string; describe: (r: T) => string; narrow?: string }): T {
  if (hits.length === 1) return hits[0]!;
  const at = o.flag ? `${o.flag}: ` : "";
  if (!hits.length) throw new CliError(`${at}no ${o.noun} ${UUID.test(ref) ? "with id" : "named"} "${ref}" (${o.list})`);
  throw new CliError(`${at}more than one ${o.noun} is called "${ref}" (${hits.map(o.describe).join("; ")}); ${o.narrow ?? "use its id"} (${o.list})`);
}

const byId = (r: Row, ref: string) => r.id === ref;
const byName = (r: Row, ref: string) => r.name === ref;
const lower = (v: unknown) => String(v).toLowerCase();

export async function resolveInstance(api: ApiClient, ref: string, flag?: string): Promise<Row> {
  const hits = match(await listAll(api, "/api/v1/instances"), ref, [byId, byName]);
  return one(hits, ref, { noun: "instance", list: "tropic instances ls", flag, describe: (r) => `id ${r.id}` });
}

export async function resolvePolicy(api: ApiClient, ref: string, flag?: string): Promise<Row> {
  const hits = match(await listAll(api, "/api/v1/policies"), ref, [byId, byName]);
  return one(hits, ref, { noun: "policy", list: "tropic policy ls", flag, describe: (r) => `id ${r.id}` });
}

/** A marketplace template by id ("personal-assistant") or name ("Personal Assistant"), in any case. */
export async function resolveTemplate(api: ApiClient, ref: string, flag?: string): Promise<Row> {
  const { items } = await api.get<{ items: Row[] }>("/api/v1/marketplace/templates");
  const hits = match(items, ref, [byId, byName, (r, x) => lower(r.id) === lower(x) || lower(r.name) === lower(x)]);
  return one(hits, ref, { noun: "template", list: "tropic templates ls", flag, describe: (r) => String(r.id) });
}

/**
 * An agent by id, slug (unique on its instance) or name; `instanceId` narrows the search to one
 * instance when the same slug or name is used on several.
 */
export async function resolveAgent(api: ApiClient, ref: string, flag?: string, instanceId?: string): Promise<Row> {
  const rows = await listAll(api, `/api/v1/agents${instanceId ? `?instanceId=${instanceId}` : ""}`);
  const hits = match(rows, ref, [byId, (r, x) => r.slug === x, byName]);
  const names = hits.length > 1 ? await instanceNames(api) : new Map<string, string>();
  return one(hits, ref, {
    noun: "agent",
    list: "tropic agents ls",
    flag,
    describe: (r) => `${r.slug} on ${names.get(String(r.instanceId)) ?? r.instanceId}, id ${r.id}`,
    narrow: instanceId ? "use its id" : "add --instance or use its id",
  });
}

/** Instance names by id, for messages. */
export async function instanceNames(api: ApiClient): Promise<Map<string, string>> {
  return new Map((await listAll(api, "/api/v1/instances")).map((i) => [String(i.id), String(i.name)]));
}

/** A value as the user would type it in a shell: quoted when it has spaces or quotes. */
export function shellArg(v: unknown): string {
  const s = String(v);
  return /^[\w.@:+,/=-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}
