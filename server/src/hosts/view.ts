// How an enrolled host is shown in the instance API (GET /api/v1/instances/:id → host).
import { z } from "zod";
import type { instances } from "../db/schema.ts";
import type { InstanceManager } from "../instances/manager.ts";

/** An agent's report is believed this long (it reports every 15 s): without a hub here, "connected" is a fresh report. */
const SEEN_FRESH_MS = 45_000;

export const hostOut = z
  .object({
    os: z.string().describe("the host's operating system (linux, darwin)"),
    arch: z.string().describe("its architecture (x64, arm64)"),
    hostname: z.string(),
    agentVersion: z.string().describe("the Tropic instance agent's version on the host"),
    openclawVersion: z.string().describe("the OpenClaw version on the host"),
    agent37: z.boolean().describe("an Agent37 machine: models and API keys are Agent37's; Tropic sends no model key"),
    enrolledAt: z.string().describe("when the host enrolled (ISO time)"),
    lastSeenAt: z.date().nullable().optional().describe("the host agent's last report"),
    connected: z.boolean().optional().describe("whether the host's agent is connected now"),
  })
  .describe("a `byo` instance's machine, once it enrolled (null before: waiting for the machine)");

type Row = Pick<typeof instances.$inferSelect, "id" | "host" | "agentSeenAt"> & { agentNodeId?: string | null };

export function hostView(row: Row, manager: InstanceManager | undefined, now = Date.now()): z.infer<typeof hostOut> | null {
  if (!row.host) return null;
  // Connected here, or held by another control-plane node (it records that in the row; cluster/node.ts).
  const connected = manager
    ? manager.hub.connected(row.id) || !!row.agentNodeId
    : !!row.agentSeenAt && now - row.agentSeenAt.getTime() < SEEN_FRESH_MS;
  return { ...row.host, agent37: row.host.agent37 === true, lastSeenAt: row.agentSeenAt, connected };
}
