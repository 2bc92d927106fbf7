// Enrolment of a user's own machine (a `byo` instance, docs/hosts.md). The one-liner carries a
// one-time token (`tet_…`, 256 bits): only its sha256 is stored, bound to its owner and instance; it
// lives 15 minutes and the exchange deletes it (DELETE … RETURNING: one use, on any node). The
// exchange hands the host the instance's own credentials (the agent token it presents to the hub,
// the gateway token); a new enrolment of the same instance (a re-install) makes a new agent token,
// so the previous installation's stops working.
import { and, eq, gt, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "../db/connect.ts";
import { enrolmentTokens, type HostInfo, instances } from "../db/schema.ts";
import { supersedePending } from "../instances/commands.ts";
import { newAgentToken, newGatewayToken, openJson, sealJson } from "../instances/tokens.ts";
import { newToken, sha256Hex } from "../lib/tokens.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";

export const ENROLMENT_TTL_MS = 15 * 60_000;
export const ENROLMENT_PREFIX = "tet";
/** What a used, expired or unknown token gets (401). */
export const ENROLMENT_REFUSED =
  "the enrolment token is used or expired: make a new one with tropic instances connect or Add Instance → Connect local machine";

const TOKEN_SHAPE = /^tet_[A-Za-z0-9_-]{43}$/;

/** A new enrolment token for one `byo` instance of `ownerId`; older unused ones of that instance stop working. */
export async function issueEnrolment(db: Db, ownerId: string, instanceId: string, now = Date.now()): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken(ENROLMENT_PREFIX, 32);
  const expiresAt = new Date(now + ENROLMENT_TTL_MS);
  // Expired tokens are swept as new ones are made; a new one replaces the instance's previous one.
  await db.delete(enrolmentTokens).where(lt(enrolmentTokens.expiresAt, new Date(now)));
  await db.delete(enrolmentTokens).where(eq(enrolmentTokens.instanceId, instanceId));
  await db.insert(enrolmentTokens).values({ tokenHash: sha256Hex(token), ownerId, instanceId, createdAt: new Date(now), expiresAt });
  return { token, expiresAt };
}

/** The token's owner and instance, once; null when it is unknown, used or expired. */
export async function redeemEnrolment(db: Db, token: string, now = Date.now()): Promise<{ ownerId: string; instanceId: string } | null> {
  if (!TOKEN_SHAPE.test(token)) return null;
  const [row] = await db
    .delete(enrolmentTokens)
    .where(and(eq(enrolmentTokens.tokenHash, sha256Hex(token)), gt(enrolmentTokens.expiresAt, new Date(now))))
    .returning({ ownerId: enrolmentTokens.ownerId, instanceId: enrolmentTokens.instanceId });
  return row ?? null;
}

export type HostReport = Omit<HostInfo, "agent37" | "enrolledAt"> & { agent37?: boolean };

/**
 * Binds the host to its instance: a fresh agent token (sealed and hashed, like every instance's),
 * the gateway token (kept when the instance has one), the host's details. Returns both tokens in
 * clear, once, for the host; null when the instance is gone or is not a `byo` or `aws` instance of `ownerId`
 * (a cloud VM enrols like a user's machine, with the token its provider put in SSM: providers/src/aws/user-data.ts).
 */
export async function enrolHost(
  db: Db,
  kek: KeyEncryptionKey,
  who: { ownerId: string; instanceId: string },
  host: HostReport,
): Promise<{ agentToken: string; gatewayToken: string } | null> {
  const agentToken = newAgentToken();
  const info: HostInfo = {
    os: host.os,
    arch: host.arch,
    hostname: host.hostname,
    agentVersion: host.agentVersion,
    openclawVersion: host.openclawVersion,
    agent37: host.agent37 === true,
    enrolledAt: new Date().toISOString(),
  };
  const newGateway = await sealJson(kek, newGatewayToken());
  const [row] = await db
    .update(instances)
    .set({
      agentTokenEnc: await sealJson(kek, agentToken),
      agentTokenHash: sha256Hex(agentToken),
      // The reconciler may have made one already (it saves tokens before calling the provider): keep it.
      gatewayTokenEnc: sql`COALESCE(${instances.gatewayTokenEnc}, ${JSON.stringify(newGateway)}::jsonb)`,
      host: info,
      // A re-install starts from its first report again.
      metrics: {},
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(instances.id, who.instanceId),
        eq(instances.ownerId, who.ownerId),
        inArray(instances.provider, ["byo", "aws"]),
        isNull(instances.deletedAt),
      ),
    )
    .returning({ gatewayTokenEnc: instances.gatewayTokenEnc });
  if (!row?.gatewayTokenEnc) return null;
  // Agent37 manages its models and keys itself: a model key queued before the host said so is not sent.
  if (info.agent37) {
    await supersedePending(db, who.instanceId, "write_env", "modelKey");
    await db.update(instances).set({ usesPlatformKey: false, modelKeyHash: null, modelKeyEnc: null }).where(eq(instances.id, who.instanceId));
  }
  return { agentToken, gatewayToken: await openJson(kek, row.gatewayTokenEnc) };
}
