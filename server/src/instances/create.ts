// Creating an instance: what POST /api/v1/instances and POST /api/v1/instances/connect (a `byo` host)
// share, so names, providers, regions and ownership follow one set of rules.
import { and, eq, isNull, sql } from "drizzle-orm";
import { type ProviderInfo, providerInfo } from "@tropic/providers";
import { awsMissing, type Config } from "../config.ts";
import type { Db } from "../db/connect.ts";
import { instances, userSettings } from "../db/schema.ts";
import { recordEvent } from "../lib/audit.ts";
import { ApiError, badRequest, conflict, isUniqueViolation } from "../lib/errors.ts";
import { suggestionFor } from "../ssh/allowlist.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { ensureKey, pushAuthorizedKeys } from "../ssh/keys.ts";
import { loadSettings } from "../routes/settings.ts";
import { enqueueGateSettingsPush, enqueueModelKeySync } from "./commands.ts";
import type { InstanceManager } from "./manager.ts";

/**
 * The providers instances can run on here: those of the instance manager, or — with
 * TROPIC_INSTANCES=off, where another process reconciles — the ones `tropic serve` builds (local, byo).
 */
export function availableProviders(manager: InstanceManager | undefined, config?: Pick<Config, "aws" | "publicUrl">): string[] {
  if (manager) return Object.keys(manager.o.providers);
  return ["local", "byo", ...(config && !awsMissing(config).length ? ["aws"] : [])];
}

/**
 * What this server offers of a provider: the catalog's regions and types, narrowed for aws to the
 * configured ones (TROPIC_AWS_REGIONS, TROPIC_AWS_INSTANCE_TYPES, TROPIC_AWS_DEFAULT_INSTANCE_TYPE).
 */
export function offeredInfo(info: ProviderInfo, config: Pick<Config, "aws">): ProviderInfo {
  if (info.id !== "aws" || !config.aws) return info;
  const a = config.aws;
  return {
    ...info,
    regions: info.regions.filter((r) => a.regions.includes(r)),
    defaultRegion: a.regions.includes(info.defaultRegion) ? info.defaultRegion : a.regions[0]!,
    instanceTypes: info.instanceTypes.filter((t) => a.instanceTypes.includes(t.id)),
    defaultInstanceType: a.defaultInstanceType,
  };
}

/** 400 naming what to configure before cloud instances can be created here (docs/aws.md). */
export function awsNotConfigured(missing: string[]): ApiError {
  return new ApiError(
    400,
    "not_configured",
    `Cloud (AWS) instances are not configured on this Tropic server: set ${missing.join(", ")} (see docs/aws.md)`,
    "provider",
    { missing },
  );
}

export const nameTaken = (n: string) => conflict("name", `an instance named "${n}" already exists`);

export interface CreateInstanceDeps {
  db: Db;
  config: Config;
  kek: KeyEncryptionKey;
  manager: InstanceManager | undefined;
}

/**
 * A new instance of `ownerId`, desired running, `provisioning`; refused (400/409) naming the field
 * for an unknown provider, region or type, or a name the owner already uses. Queues what every new
 * instance gets (the gate's settings, the SSH key, the model key) and tells the reconciler.
 */
export async function createInstance(
  d: CreateInstanceDeps,
  ownerId: string,
  body: { name: string; provider: string; region?: string; instanceType?: string },
  /** the address the request came from: a cloud VM's SSH allowlist starts with it (the seed: "your detected IP") */
  callerIp?: string,
) {
  const { db, config, kek, manager } = d;
  const { name, provider } = body;
  const available = availableProviders(manager, config);
  const unavailable = () =>
    badRequest("provider", `provider "${provider}" is not available on this Tropic server (available: ${available.join(", ")})`, { available });
  const catalog = providerInfo(provider);
  if (!catalog) throw unavailable();
  const info = offeredInfo(catalog, config);
  const region = body.region ?? info.defaultRegion;
  if (!info.regions.includes(region))
    throw badRequest("region", `region "${region}" is not available for ${provider}; choose one of ${info.regions.join(", ")}`);
  const instanceType = body.instanceType ?? (await defaultTypeFor(db, ownerId, info));
  if (!info.instanceTypes.some((t) => t.id === instanceType))
    throw badRequest(
      "instanceType",
      `instance type "${instanceType}" is not available for ${provider}; choose one of ${info.instanceTypes.map((t) => t.id).join(", ")}`,
    );
  // Checked after the catalog's region and type (a spec error is named first), before anything is written.
  // Cloud instances without AWS configured: say what to set now, not a failure later.
  if (info.id === "aws") {
    const missing = awsMissing(config);
    if (missing.length) throw awsNotConfigured(missing);
  }
  if (!available.includes(provider)) throw unavailable();
  // A local instance runs on the machine of the node that makes it, but any node runs its jobs: with
  // several control-plane nodes it cannot work, so it is refused (docs/scaling.md, "Local instances").
  if (provider === "local" && manager) {
    const nodes = await manager.cluster.liveNodes();
    if (nodes > 1)
      throw badRequest(
        "provider",
        `local instances run on the control plane's own machine, and this Tropic runs as ${nodes} nodes: use "byo" (your own machine) or "aws" (a cloud VM) instead`,
        { available: available.filter((p) => p !== "local") },
      );
  }
  const now = new Date();
  // The unique index (owner, name) among live instances decides; two creates at once get one row.
  const [row] = await db
    .insert(instances)
    .values({
      id: crypto.randomUUID(),
      ownerId,
      name,
      provider: info.id,
      region,
      instanceType,
      desiredState: "running",
      state: "provisioning",
      createdAt: now,
      updatedAt: now,
    })
    // No error for a taken name (an error would cost the embedded database's connection): no row.
    .onConflictDoNothing({ target: [instances.ownerId, instances.name], where: isNull(instances.deletedAt) })
    .returning()
    .catch((err) => {
      throw isUniqueViolation(err, "instances_owner_name_key") ? nameTaken(name) : err;
    });
  if (!row) throw nameTaken(name);
  // A cloud VM's SSH: the owner's allowlist, which starts as the address they created it from.
  const detected = info.id === "aws" && callerIp ? suggestionFor(callerIp) : null;
  if (detected) {
    await loadSettings(db, ownerId);
    await db
      .update(userSettings)
      .set({ sshAllowlist: [detected.cidr], updatedAt: now })
      .where(and(eq(userSettings.ownerId, ownerId), sql`jsonb_array_length(${userSettings.sshAllowlist}) = 0`));
  }
  await recordEvent(db, {
    ownerId,
    action: "instance.create",
    objectType: "instance",
    objectId: row.id,
    details: { provider, region, instanceType },
  });
  // The gate starts with the user's Settings toggles and phone rules (delivered when the agent first connects).
  await enqueueGateSettingsPush(db, await loadSettings(db, ownerId), [row.id]);
  // The user's SSH key (made now if this is the first need) goes into the instance's authorized_keys.
  await ensureKey(db, kek, ownerId);
  await pushAuthorizedKeys(db, ownerId, [row.id]);
  // The Claude API key into the instance's .env at provisioning.
  await enqueueModelKeySync(db, ownerId, [row.id], config.platformAnthropicKey !== undefined);
  await manager?.changed(row.id);
  return row;
}

/** The type a new instance gets: the owner's Settings default when this provider offers it, else the provider's. */
async function defaultTypeFor(db: Db, ownerId: string, info: ProviderInfo): Promise<string> {
  if (info.id !== "aws") return info.defaultInstanceType;
  const [s] = await db.select({ t: userSettings.defaultInstanceType }).from(userSettings).where(eq(userSettings.ownerId, ownerId)).limit(1);
  return s?.t && info.instanceTypes.some((t) => t.id === s.t) ? s.t : info.defaultInstanceType;
}
