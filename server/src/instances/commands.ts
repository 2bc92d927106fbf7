// The command queue for instance agents: rows in instance_commands, delivered in order when the
// instance's agent is connected (at once) or when it connects (an offline instance keeps them).
// Payloads never hold secret values: `{"$credential": name}` stands for the owner's stored
// credential and is decrypted only at delivery.
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { getSkill, getTemplate } from "@tropic/marketplace";
import type { CommandKind } from "@tropic/agent";
import { wakeInstance, wakeInstances } from "../cluster/node.ts";
import { phonePolicy } from "../whatsapp/index.ts";
import type { Db } from "../db/connect.ts";
import { agents, credentials, instanceCommands, instances, policies, userSettings } from "../db/schema.ts";

type OnDone = "agent_ready" | "agent_stopped" | "skill_installed" | "skill_removed";

export async function enqueueCommand(
  db: Db,
  c: { ownerId: string; instanceId: string; agentId?: string | null; kind: CommandKind; payload: Record<string, unknown>; onDone?: OnDone },
): Promise<string> {
  const id = crypto.randomUUID();
  await db.insert(instanceCommands).values({
    id,
    ownerId: c.ownerId,
    instanceId: c.instanceId,
    agentId: c.agentId ?? null,
    kind: c.kind,
    payload: c.payload,
    onDone: c.onDone ?? null,
  });
  // Whichever control-plane node holds the agent delivers it now (the caller pumps this node's).
  await wakeInstance(db, c.instanceId);
  return id;
}

/**
 * Many commands at once (a fan-out: a policy to every agent that uses it): inserted 1,000 rows per
 * statement, each chunk's holders woken with a few notifications (wakeInstances), not one round trip each
 * (an instance's commands still go out in the order given: by their sequence).
 */
export async function enqueueCommands(
  db: Db,
  cs: { ownerId: string; instanceId: string; agentId?: string | null; kind: CommandKind; payload: Record<string, unknown> }[],
): Promise<void> {
  for (let i = 0; i < cs.length; i += 1000) {
    const chunk = cs.slice(i, i + 1000);
    // One JSON parameter for the whole chunk, in the order given (their sequence numbers follow it).
    const rows = JSON.stringify(chunk.map((c) => ({ o: c.ownerId, i: c.instanceId, a: c.agentId ?? null, k: c.kind, p: c.payload })));
    await db.execute(sql`
      INSERT INTO instance_commands (id, owner_id, instance_id, agent_id, kind, payload)
      SELECT gen_random_uuid(), (v->>'o')::uuid, (v->>'i')::uuid, (v->>'a')::uuid, v->>'k', v->'p'
      FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS e(v, n)
      ORDER BY n`);
    // each chunk's holders woken at once: the first agents get theirs while the rest is being inserted
    await wakeInstances(db, [...new Set(chunk.map((c) => c.instanceId))]);
  }
}

/**
 * Cancels an instance's pending commands of one kind (optionally only those whose payload has
 * `marker`): a newer one of the same kind supersedes them. Already sent ones are left to finish.
 */
export async function supersedePending(db: Db, instanceId: string, kind: CommandKind, marker?: string) {
  await db
    .update(instanceCommands)
    .set({ state: "cancelled", doneAt: new Date() })
    .where(
      and(
        eq(instanceCommands.instanceId, instanceId),
        eq(instanceCommands.kind, kind),
        eq(instanceCommands.state, "pending"),
        marker ? sql`${instanceCommands.payload} ? ${marker}` : undefined,
      ),
    );
}

/** Cancels the open commands of one agent (a newer deploy/stop supersedes them). */
export async function cancelAgentCommands(db: Db, agentId: string) {
  await db
    .update(instanceCommands)
    .set({ state: "cancelled", doneAt: new Date() })
    .where(and(eq(instanceCommands.agentId, agentId), inArray(instanceCommands.state, ["pending"])));
}

type AgentRow = typeof agents.$inferSelect;

export async function policyTextOf(db: Db, ownerId: string, policyId: string | null): Promise<string | null> {
  if (!policyId) return null;
  const [p] = await db
    .select({ text: policies.text })
    .from(policies)
    .where(and(eq(policies.id, policyId), eq(policies.ownerId, ownerId)))
    .limit(1);
  return p?.text ?? null;
}

/** A custom OpenAI-compatible endpoint from Settings, when the agent's model is that custom model. */
async function modelProvider(db: Db, ownerId: string, model: string) {
  const [s] = await db.select({ customModel: userSettings.customModel }).from(userSettings).where(eq(userSettings.ownerId, ownerId)).limit(1);
  const cm = s?.customModel;
  if (!cm?.baseUrl || `${cm.provider}/${cm.modelId}` !== model) return undefined;
  return {
    id: cm.provider,
    config: {
      baseUrl: cm.baseUrl,
      apiKey: "tropic-custom-endpoint",
      api: "openai-completions",
      models: [
        {
          id: cm.modelId,
          name: cm.modelId,
          input: ["text"],
          contextWindow: 128000,
          maxTokens: 4096,
          cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        },
      ],
    },
  };
}

/**
 * Deploy = workspace files to <state>/workspace/<slug>/, then the agent registered in openclaw.json
 * (agents.entries.<slug>) with its policy in the gate's config; the second ack makes the agent ready.
 * The OpenClaw agent id is the slug (unique per instance).
 */
export async function enqueueAgentDeploy(db: Db, a: AgentRow) {
  const template = getTemplate(a.templateId);
  await cancelAgentCommands(db, a.id);
  await enqueueCommand(db, {
    ownerId: a.ownerId,
    instanceId: a.instanceId,
    agentId: a.id,
    kind: "write_workspace",
    payload: { slug: a.slug, files: template?.files ?? {} },
  });
  const mp = await modelProvider(db, a.ownerId, a.model);
  await enqueueCommand(db, {
    ownerId: a.ownerId,
    instanceId: a.instanceId,
    agentId: a.id,
    kind: "register_agent",
    payload: {
      id: a.slug,
      slug: a.slug,
      name: a.name,
      model: a.model,
      policy: await policyTextOf(db, a.ownerId, a.policyId),
      ...(mp ? { modelProvider: mp } : {}),
    },
    onDone: "agent_ready",
  });
}

export async function enqueueAgentRemoval(db: Db, a: AgentRow, deleteWorkspace: boolean) {
  await cancelAgentCommands(db, a.id);
  await enqueueCommand(db, {
    ownerId: a.ownerId,
    instanceId: a.instanceId,
    agentId: deleteWorkspace ? null : a.id,
    kind: "remove_agent",
    payload: { id: a.slug, slug: a.slug, deleteWorkspace },
    onDone: deleteWorkspace ? undefined : "agent_stopped",
  });
}

/** After a policy edit: the new text of every running agent that uses it, to the gate (hot reload, no restart). */
export async function enqueuePolicyPush(db: Db, ownerId: string, policyId: string): Promise<string[]> {
  const users = await db
    .select()
    .from(agents)
    .where(and(eq(agents.ownerId, ownerId), eq(agents.policyId, policyId), ne(agents.state, "stopped")));
  const text = await policyTextOf(db, ownerId, policyId);
  // one batch however many agents use it (a fleet of thousands: docs/scaling.md)
  await enqueueCommands(
    db,
    users.map((a) => ({
      ownerId,
      instanceId: a.instanceId,
      agentId: a.id,
      kind: "register_agent" as const,
      payload: { id: a.slug, slug: a.slug, name: a.name, model: a.model, policy: text },
    })),
  );
  return [...new Set(users.map((a) => a.instanceId))];
}

export async function enqueueSkillInstall(db: Db, ownerId: string, instanceId: string, slug: string, enabled: boolean, credentialEnvs: string[]) {
  const skill = getSkill(slug);
  if (!skill) return;
  const env: Record<string, unknown> = {};
  for (const e of credentialEnvs) env[e] = { $credential: `skill:${slug}:${e}` };
  await enqueueCommand(db, {
    ownerId,
    instanceId,
    kind: "install_skill",
    // The skill's program too (bin/* on the gateway's PATH, lib/*): docs/skills.md.
    payload: { slug, files: { "SKILL.md": skill.skillMd, ...skill.programFiles }, env, enabled },
    onDone: "skill_installed",
  });
}

export async function enqueueSkillRemoval(db: Db, ownerId: string, instanceId: string, slug: string) {
  const skill = getSkill(slug);
  await enqueueCommand(db, {
    ownerId,
    instanceId,
    kind: "remove_skill",
    payload: { slug, envNames: skill?.credentials.map((c) => c.env) ?? [] },
  });
}

/** The user's Settings toggles and phone rules, in the gate plugin's config shape. */
export function gateSettingsConfig(s: typeof userSettings.$inferSelect) {
  return {
    settings: { blockBrowser: s.blockBrowser, blockCodeExecution: s.blockCodeExecution, blockOsCommands: s.blockOsCommands },
    phoneRules: { mode: s.phoneMode, patterns: s.phonePatterns },
  };
}

/**
 * Sends the Settings toggles and phone rules to the gate of each given instance (hot reload, no
 * restart). Queued like every command, so a stopped instance gets them when its agent reconnects.
 */
export async function enqueueGateSettingsPush(db: Db, s: typeof userSettings.$inferSelect, instanceIds: string[]): Promise<void> {
  for (const instanceId of instanceIds) {
    await enqueueCommand(db, { ownerId: s.ownerId, instanceId, kind: "set_gate_config", payload: { config: gateSettingsConfig(s) } });
    // and into OpenClaw's own WhatsApp config, where WhatsApp is enabled (the agent ignores it elsewhere): docs/whatsapp.md
    await enqueueCommand(db, { ownerId: s.ownerId, instanceId, kind: "whatsapp_policy", payload: { policy: phonePolicy(s).policy } });
  }
}

/** The Claude API key's name among a user's credentials (Settings → Credentials). */
export const MODEL_KEY = "ANTHROPIC_API_KEY";

/**
 * The model API key into each instance's .env (the seed: at provisioning and on every start; a key
 * changed while an instance is stopped reaches it when it starts, as queued commands do). The
 * user's own key when stored, else the instance's credential for the control plane's model proxy,
 * which holds the platform's key, when this Tropic has one (the instance then
 * pays the model rate: instances.uses_platform_key), else none. The gateway restarts only when the
 * value changed. An older pending sync is superseded.
 */
export async function enqueueModelKeySync(db: Db, ownerId: string, ids: string[], platformKey: boolean) {
  if (!ids.length) return;
  // An Agent37 machine (a `byo` host that said so at enrolment) has its own models and keys: Tropic writes none there.
  const agent37 = await db
    .select({ id: instances.id })
    .from(instances)
    .where(and(inArray(instances.id, ids), eq(instances.provider, "byo"), sql`(${instances.host}->>'agent37')::boolean IS TRUE`));
  const instanceIds = ids.filter((id) => !agent37.some((a) => a.id === id));
  if (!instanceIds.length) return;
  const [own] = await db
    .select({ id: credentials.id })
    .from(credentials)
    .where(and(eq(credentials.ownerId, ownerId), eq(credentials.name, MODEL_KEY)))
    .limit(1);
  // With the platform's key, the instance gets its own model-proxy credential (docs/models.md): the
  // platform's key never leaves the control plane.
  const viaProxy = !own && platformKey;
  const value = own ? { $credential: MODEL_KEY } : viaProxy ? { $modelKey: true } : null;
  await db
    .update(instances)
    // A key of the user's own (or no platform key) ends the instances' model-proxy credentials at once.
    .set({ usesPlatformKey: !own && platformKey, ...(viaProxy ? {} : { modelKeyHash: null, modelKeyEnc: null }) })
    .where(and(eq(instances.ownerId, ownerId), inArray(instances.id, instanceIds)));
  for (const instanceId of instanceIds) {
    await supersedePending(db, instanceId, "write_env", "modelKey");
    await enqueueCommand(db, {
      ownerId,
      instanceId,
      kind: "write_env",
      payload: { modelKey: true, vars: { [MODEL_KEY]: value }, modelProxy: viaProxy, restartIfChanged: true },
    });
  }
}
