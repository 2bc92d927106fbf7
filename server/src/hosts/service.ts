// What the host routes do (routes/hosts.ts stays thin): connect a machine (a new `byo` instance and
// its one-liner), a fresh one-liner, and the host's exchange of its token for its credentials.
import { and, eq, isNull } from "drizzle-orm";
import { AGENT_PATH } from "@tropic/agent";
import type { Config } from "../config.ts";
import type { Db } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { createInstance } from "../instances/create.ts";
import type { InstanceManager } from "../instances/manager.ts";
import { recordEvent } from "../lib/audit.ts";
import { ApiError, conflict, notFound } from "../lib/errors.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { ENROLMENT_REFUSED, enrolHost, type HostReport, issueEnrolment, redeemEnrolment } from "./enrolment.ts";

export interface HostDeps {
  db: Db;
  config: Config;
  kek: KeyEncryptionKey;
  manager: InstanceManager | undefined;
}

/** Tropic's URL as a host reaches it: TROPIC_PUBLIC_URL, else the origin the request came to. */
export function publicBase(config: Config, req: { protocol: string; headers: { host?: string } }): string {
  return (config.publicUrl ?? `${req.protocol}://${req.headers.host ?? `${config.host}:${config.port}`}`).replace(/\/+$/, "");
}

/** The seed's one-liner: the installer from this Tropic, with the token as its argument (never in a URL). */
export const oneLiner = (base: string, token: string) => `curl -fsSL ${base}/install/host.sh | sh -s -- --token ${token}`;

/** The agent endpoint as a host dials it (ws:// or wss:// of the same base). */
export const hostAgentUrl = (base: string) => `${base.replace(/^http/, "ws")}${AGENT_PATH}`;

async function enrolment(d: HostDeps, ownerId: string, instanceId: string, base: string) {
  const { token, expiresAt } = await issueEnrolment(d.db, ownerId, instanceId);
  await recordEvent(d.db, { ownerId, action: "instance.enrolment", objectType: "instance", objectId: instanceId });
  return { token, expiresAt, command: oneLiner(base, token) };
}

/** A new `byo` instance named `name` (the rules of every create) and its first one-liner. */
export async function connectMachine(d: HostDeps, ownerId: string, name: string, base: string) {
  const instance = await createInstance(d, ownerId, { name, provider: "byo" });
  return { instance, enrolment: await enrolment(d, ownerId, instance.id, base) };
}

/** A fresh one-liner for a `byo` instance of the caller (not enrolled yet, or to install it again). */
export async function newEnrolment(d: HostDeps, ownerId: string, instanceId: string, base: string) {
  const [inst] = await d.db
    .select()
    .from(instances)
    .where(and(eq(instances.id, instanceId), eq(instances.ownerId, ownerId), isNull(instances.deletedAt)))
    .limit(1);
  if (!inst) throw notFound("instance");
  if (inst.provider !== "byo")
    throw conflict("provider", `instance ${inst.name} runs on ${inst.provider}: only an instance of your own machine (byo) enrols with a one-liner`);
  return { instance: inst, enrolment: await enrolment(d, ownerId, inst.id, base) };
}

/**
 * The host's exchange: its one-time token for the instance's id and credentials, once. A used,
 * expired or unknown token, or one whose instance is gone, is 401 in the same words.
 */
export async function enrol(d: HostDeps, token: string, host: HostReport, base: string) {
  const who = await redeemEnrolment(d.db, token);
  const creds = who ? await enrolHost(d.db, d.kek, who, host) : null;
  if (!who || !creds) throw new ApiError(401, "enrolment_refused", ENROLMENT_REFUSED, "token");
  await recordEvent(d.db, {
    ownerId: who.ownerId,
    action: "instance.enrolled",
    objectType: "instance",
    objectId: who.instanceId,
    details: { os: host.os, arch: host.arch, hostname: host.hostname, agentVersion: host.agentVersion, agent37: host.agent37 === true },
  });
  // A previous installation's agent (its token no longer works) is dropped; the reconciler looks now.
  d.manager?.hub.disconnect(who.instanceId);
  await d.manager?.changed(who.instanceId);
  return { instanceId: who.instanceId, agentToken: creds.agentToken, agentUrl: hostAgentUrl(base), gatewayToken: creds.gatewayToken };
}
