// WhatsApp on an instance (docs/whatsapp.md): pair (an SSE stream of QRs), status, unpair. Thin: the
// logic is in ../whatsapp/.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { recordEvent } from "../lib/audit.ts";
import { conflict } from "../lib/errors.ts";
import { type PairEvent, phonePolicy, WhatsApp } from "../whatsapp/index.ts";
import type { RouteDeps } from "./index.ts";
import { ownedInstance } from "./instances.ts";
import { idParam } from "./schemas.ts";
import { loadSettings } from "./settings.ts";

const phoneRulesOut = z.object({
  enforcedByOpenClaw: z
    .boolean()
    .describe("true: OpenClaw's own channel config (dmPolicy allowlist, allowFrom) refuses numbers outside the Settings allowlist, behind the gate"),
  dmPolicy: z.string().describe("the channels.whatsapp.dmPolicy Tropic writes"),
  allowFrom: z.array(z.string()).describe("the channels.whatsapp.allowFrom Tropic writes (whole E.164 numbers)"),
  notes: z.array(z.string()).describe("what OpenClaw cannot express (wildcards, a blocklist): the gate alone enforces it"),
});

const statusOut = z.object({
  instanceId: z.string(),
  enabled: z.boolean().describe("WhatsApp's channel plugin is enabled in the instance's OpenClaw config"),
  loaded: z.boolean().describe("the gateway runs the WhatsApp channel (its channels.status)"),
  paired: z.boolean().describe("the gateway says a WhatsApp account is linked"),
  number: z.string().nullable().describe("the linked number (E.164), as the gateway reports it"),
  connected: z.boolean(),
  dmPolicy: z.string().nullable().describe("the DM policy the gateway resolved for the channel"),
  allowFrom: z.array(z.string()),
  phoneRules: phoneRulesOut,
});

const pairEventDoc =
  "A text/event-stream. Events (each `event: <type>` with a JSON `data:`): status {message}; qr {qrDataUrl (PNG data URL), n, message}, sent for every NEW QR; then one of paired {number}, expired {message} (the login lives 3 minutes: ask again to retry) or error {message}. Closing the connection cancels the pairing.";

export const whatsappRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["whatsapp"];
  const wa = manager ? new WhatsApp((...a) => manager.hub.request(...a)) : null;

  /** the caller's running instance and the service, or 409 */
  const running = async (ownerId: string, id: string) => {
    const inst = await ownedInstance(db, ownerId, id);
    // (initializing/restarting: the gateway is up but not ready, e.g. while the channel reloads; its RPC answers)
    if (!["running", "initializing", "restarting"].includes(inst.state) || !wa || !manager || !(await manager.hub.reachable(inst.id)))
      throw conflict("id", "the instance is not running; start it to use WhatsApp");
    return { inst, wa };
  };
  const rulesOf = async (ownerId: string) => {
    const p = phonePolicy(await loadSettings(db, ownerId));
    return { enforcedByOpenClaw: p.enforcedByOpenClaw, dmPolicy: p.policy.dmPolicy, allowFrom: p.policy.allowFrom, notes: p.notes, policy: p.policy };
  };

  app.get(
    "/api/v1/instances/:id/whatsapp",
    {
      schema: {
        tags,
        description:
          "Whether WhatsApp is paired on a running instance and the linked number, read from its gateway through its agent. 409 when the instance is not running.",
        params: idParam,
        response: { 200: statusOut },
      },
    },
    async (req) => {
      const { inst, wa } = await running(req.caller!.id, req.params.id);
      const s = await wa.status(inst.id);
      const { policy: _p, ...phoneRules } = await rulesOf(req.caller!.id);
      return {
        instanceId: inst.id,
        enabled: s.enabled,
        loaded: s.loaded,
        paired: s.linked,
        number: s.number,
        connected: s.connected,
        dmPolicy: s.dmPolicy,
        allowFrom: s.allowFrom,
        phoneRules,
      };
    },
  );

  app.post(
    "/api/v1/instances/:id/whatsapp/pair",
    {
      schema: {
        tags,
        description: `Pairs WhatsApp on a running instance: enables OpenClaw's WhatsApp plugin (shipped with the runtime) with the DM policy the Settings' phone rules allow, then streams the pairing QR as it changes. ${pairEventDoc} 409 when the instance is not running.`,
        params: idParam,
        response: { 200: z.string().describe("text/event-stream") },
      },
    },
    async (req, reply) => {
      const ownerId = req.caller!.id;
      const { inst, wa } = await running(ownerId, req.params.id);
      const rules = await rulesOf(ownerId);
      await recordEvent(db, { ownerId, action: "whatsapp.pair", objectType: "instance", objectId: inst.id, details: { dmPolicy: rules.dmPolicy } });
      const ac = new AbortController();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
        connection: "keep-alive",
      });
      res.on("close", () => ac.abort());
      const send = (e: PairEvent) => {
        if (!res.writableEnded) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      const keepAlive = setInterval(() => !res.writableEnded && res.write(": keep-alive\n\n"), 15_000);
      send({
        type: "status",
        message: `phone rules: ${rules.enforcedByOpenClaw ? `OpenClaw allows DMs only with ${rules.allowFrom.join(", ")}` : "enforced by the gate"}`,
      });
      try {
        const last = await wa.pair(inst.id, rules.policy, send, ac.signal);
        if (last.type === "paired")
          await recordEvent(db, { ownerId, action: "whatsapp.paired", objectType: "instance", objectId: inst.id, details: { number: last.number } });
        else if (last.type !== "error" || last.message !== "cancelled")
          await recordEvent(db, { ownerId, action: `whatsapp.pair_${last.type}`, objectType: "instance", objectId: inst.id, details: {} });
      } finally {
        clearInterval(keepAlive);
        res.end();
      }
    },
  );

  app.delete(
    "/api/v1/instances/:id/whatsapp",
    {
      schema: {
        tags,
        description:
          "Unpairs WhatsApp on a running instance (the gateway logs the linked account out: OpenClaw's channels.logout). 409 when the instance is not running.",
        params: idParam,
        response: { 200: z.object({ instanceId: z.string(), paired: z.boolean(), cleared: z.boolean() }) },
      },
    },
    async (req) => {
      const { inst, wa } = await running(req.caller!.id, req.params.id);
      const r = await wa.unpair(inst.id);
      await recordEvent(db, {
        ownerId: req.caller!.id,
        action: "whatsapp.unpair",
        objectType: "instance",
        objectId: inst.id,
        details: { cleared: r.cleared },
      });
      return { instanceId: inst.id, paired: r.linked, cleared: r.cleared };
    },
  );
};
