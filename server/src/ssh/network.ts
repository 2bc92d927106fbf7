// The network rules an instance gets from its owner's Settings: SSH (port 22) only from the SSH
// allowlist; the gateway port only from Tropic's own proxies (loopback for the local provider).
import { and, eq, isNull, isNotNull, ne } from "drizzle-orm";
import type { InstanceProvider, NetworkRules } from "@tropic/providers";
import type { Db } from "../db/connect.ts";
import { instances, userSettings } from "../db/schema.ts";

/** Where Tropic's gateway proxy connects from (the control plane itself, for local instances). */
export const GATEWAY_FROM = ["127.0.0.1/32", "::1/128"];

export async function networkRulesFor(db: Db, ownerId: string): Promise<NetworkRules> {
  const [s] = await db.select({ a: userSettings.sshAllowlist }).from(userSettings).where(eq(userSettings.ownerId, ownerId)).limit(1);
  return { sshAllowlist: [...(s?.a ?? [])], gatewayFrom: [...GATEWAY_FROM] };
}

/**
 * Applies the owner's rules to each of their instances whose provider runs in this process and that
 * the provider has created (a new one gets them when the reconciler creates it). Returns the ids done;
 * a provider that refuses is reported per instance, the others still get theirs.
 */
export async function applyNetworkRulesOf(
  db: Db,
  providers: Partial<Record<"local" | "aws" | "byo", InstanceProvider>>,
  ownerId: string,
): Promise<{ applied: string[]; failed: { instanceId: string; error: string }[] }> {
  const rules = await networkRulesFor(db, ownerId);
  const rows = await db
    .select({ id: instances.id, provider: instances.provider, ref: instances.providerRef })
    .from(instances)
    .where(and(eq(instances.ownerId, ownerId), isNull(instances.deletedAt), ne(instances.desiredState, "deleted"), isNotNull(instances.providerRef)));
  const applied: string[] = [];
  const failed: { instanceId: string; error: string }[] = [];
  for (const r of rows) {
    const p = providers[r.provider];
    if (!p || !r.ref) continue;
    try {
      await p.applyNetworkRules(r.ref, rules);
      applied.push(r.id);
    } catch (err) {
      failed.push({ instanceId: r.id, error: (err as Error).message });
    }
  }
  return { applied, failed };
}
