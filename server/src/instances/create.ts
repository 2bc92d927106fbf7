// Creating an instance: what POST /api/v1/instances and POST /api/v1/instances/connect (a `byo` host)
// share, so names, providers, regions and ownership follow one set of rules.
import { isNull } from "drizzle-orm";
import { providerInfo } from "@tropic/providers";
import type { Config } from "../config.ts";
import type { Db } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { recordEvent } from "../lib/audit.ts";
import { badRequest, conflict, isUniqueViolation } from "../lib/errors.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { ensureKey, pushAuthorizedKeys } from "../ssh/keys.ts";
import { loadSettings } from "../routes/settings.ts";
import { enqueueGateSettingsPush, enqueueModelKeySync } from "./commands.ts";
import type { InstanceManager } from "./manager.ts";

/**
 * The providers instances can run on here: those of the instance manager, or — with
 * TROPIC_INSTANCES=off, where another process reconciles — the ones `tropic serve` builds (local, byo).
 */
export function availableProviders(manager: InstanceManager | undefined): string[] {
  return manager ? Object.keys(manager.o.providers) : ["local", "byo"];
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
) {
  const { db, config, kek, manager } = d;
  const { name, provider } = body;
  const available = availableProviders(manager);
  const unavailable = () =>
    badRequest("provider", `provider "${provider}" is not available on this Tropic server (available: ${available.join(", ")})`, { available });
  const info = providerInfo(provider);
  if (!info) throw unavailable();
  const region = body.region ?? info.defaultRegion;
  if (!info.regions.includes(region))
    throw badRequest("region", `region "${region}" is not available for ${provider}; choose one of ${info.regions.join(", ")}`);
  const instanceType = body.instanceType ?? info.defaultInstanceType;
  if (!info.instanceTypes.some((t) => t.id === instanceType))
    throw badRequest(
      "instanceType",
      `instance type "${instanceType}" is not available for ${provider}; choose one of ${info.instanceTypes.map((t) => t.id).join(", ")}`,
    );
  // Checked after the catalog's region and type (a spec error is named first), before anything is written.
  if (!available.includes(provider)) throw unavailable();
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
