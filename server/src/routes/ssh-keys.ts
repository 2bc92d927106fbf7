// The caller's SSH key pair (the seed's "SSH key pair"): the public key and when it rotates, the
// private key as tropic-vm-key.pem (its owner only; never cached), and rotation on demand. The key
// is generated on first need; a rotation pushes the new public key to every instance of the caller.
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { recordEvent } from "../lib/audit.ts";
import { notFound } from "../lib/errors.ts";
import { currentKey, ensureKey, keyInfo, keyTargets, privateKeyOf, pushAuthorizedKeys, rotateNow, rotationDaysOf } from "../ssh/keys.ts";
import type { RouteDeps } from "./index.ts";
import { iso } from "./schemas.ts";

const sshKeyOut = z.object({
  id: z.string(),
  algorithm: z.literal("ssh-ed25519"),
  publicKey: z.string().describe("one authorized_keys line: ssh-ed25519 AAAA… tropic-<user>"),
  fingerprint: z.string().describe("SHA256:… as ssh-keygen -l prints it"),
  createdAt: iso,
  rotationDays: z.number().describe("Settings → sshRotationDays: 30, 60 or 90"),
  nextRotationAt: iso,
});
const rotatedOut = sshKeyOut.extend({ pushedTo: z.number().describe("instances the new public key was queued for") });

export const PEM_FILENAME = "tropic-vm-key.pem";

export const sshKeyRoutes: FastifyPluginAsync<RouteDeps> = async (root, { database, kek, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  app.addHook("preHandler", requireCaller);
  const tags = ["ssh-key"];

  app.get("/api/v1/ssh-key", { schema: { tags, response: { 200: sshKeyOut } } }, async (req) => {
    const key = await ensureKey(db, kek, req.caller!.id);
    return keyInfo(key, await rotationDaysOf(db, req.caller!.id));
  });

  app.get(
    "/api/v1/ssh-key/private",
    {
      schema: {
        tags,
        description:
          "The current private key in the OpenSSH format (`ssh -i tropic-vm-key.pem …`), for its owner only. With `keyId`, only while that key is the caller's current one (404 otherwise).",
        querystring: z.strictObject({ keyId: z.uuid("must be a UUID").optional() }),
        response: {
          200: { description: "tropic-vm-key.pem", content: { "application/x-pem-file": { schema: z.string() } } },
        },
      },
    },
    async (req, reply) => {
      const ownerId = req.caller!.id;
      let key = await currentKey(db, ownerId);
      if (req.query.keyId !== undefined) {
        // Another user's key, a retired key and no key at all look the same.
        if (!key || key.id !== req.query.keyId) throw notFound("SSH key");
      } else key ??= await ensureKey(db, kek, ownerId);
      const pem = await privateKeyOf(kek, key);
      await recordEvent(db, {
        ownerId,
        action: "ssh_key.download",
        objectType: "ssh_key",
        objectId: key.id,
        details: { fingerprint: key.fingerprint },
      });
      reply
        .header("content-type", "application/x-pem-file")
        .header("content-disposition", `attachment; filename="${PEM_FILENAME}"`)
        .header("cache-control", "no-store")
        .header("pragma", "no-cache");
      // A string with a non-JSON content type goes out as is (no JSON serialisation).
      return reply.send(pem);
    },
  );

  app.post("/api/v1/ssh-key/rotate", { schema: { tags, response: { 200: rotatedOut } } }, async (req) => {
    const ownerId = req.caller!.id;
    const key = await rotateNow(db, kek, ownerId);
    const targets = await keyTargets(db, ownerId);
    await pushAuthorizedKeys(db, ownerId, targets);
    for (const id of targets) await manager?.hub.pump(id);
    return { ...keyInfo(key, await rotationDaysOf(db, ownerId)), pushedTo: targets.length };
  });
};
