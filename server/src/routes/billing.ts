// Buying credits: Stripe Checkout (1,000 credits = $25; packages configurable). The purchase is
// recorded before the user is sent to Stripe; the credits land only when Stripe's signed webhook
// says the session was paid, idempotently (ledger key stripe:<session id>: a replayed or repeated
// event credits once). Without Stripe keys purchases are disabled with a clear message and an admin
// can grant credits (POST /api/v1/admin/credits/grant).
import { and, desc, eq } from "drizzle-orm";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import Stripe from "stripe";
import { z } from "zod";
import { checkLimits } from "../credits/meter.ts";
import { loadRates } from "../credits/rates.ts";
import { creditLedger, purchases } from "../db/schema.ts";
import { recordEvent } from "../lib/audit.ts";
import { ApiError, badRequest } from "../lib/errors.ts";
import type { RouteDeps } from "./index.ts";
import { iso } from "./schemas.ts";

export const STRIPE_WEBHOOK_PATH = "/api/v1/billing/stripe/webhook";
const packageOut = z.object({ id: z.string(), credits: z.number(), priceCents: z.number(), currency: z.literal("usd") });
const purchaseOut = z.object({
  id: z.string(),
  packageId: z.string(),
  credits: z.number(),
  priceCents: z.number(),
  state: z.string(),
  createdAt: iso,
  paidAt: iso.nullable(),
});

const disabled = () =>
  new ApiError(
    409,
    "purchases_disabled",
    "purchases are disabled on this Tropic (no Stripe keys: set TROPIC_STRIPE_SECRET_KEY and TROPIC_STRIPE_WEBHOOK_SECRET); an admin can grant credits meanwhile",
  );

export const billingRoutes: FastifyPluginAsync<RouteDeps> = async (root, { config, database, requireCaller, instances: manager }) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const db = database.db;
  const stripe = config.stripe ? stripeClient(config.stripe.secretKey, config.stripe.apiBase) : null;
  const baseUrl = (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/$/, "");

  app.get(
    "/api/v1/credits/packages",
    {
      preHandler: requireCaller,
      schema: { tags: ["credits"], response: { 200: z.object({ purchasesEnabled: z.boolean(), packages: z.array(packageOut) }) } },
    },
    async () => ({ purchasesEnabled: stripe !== null, packages: config.creditPackages.map((p) => ({ ...p, currency: "usd" as const })) }),
  );

  app.get(
    "/api/v1/credits/purchases",
    { preHandler: requireCaller, schema: { tags: ["credits"], response: { 200: z.object({ items: z.array(purchaseOut) }) } } },
    async (req) => ({
      items: await db.select().from(purchases).where(eq(purchases.ownerId, req.caller!.id)).orderBy(desc(purchases.createdAt)).limit(100),
    }),
  );

  app.post(
    "/api/v1/credits/purchase",
    {
      preHandler: requireCaller,
      schema: {
        tags: ["credits"],
        body: z.strictObject({ packageId: z.string().max(20) }),
        response: { 201: z.object({ purchaseId: z.string(), checkoutUrl: z.string() }) },
      },
    },
    async (req, reply) => {
      if (!stripe) throw disabled();
      const pkg = config.creditPackages.find((p) => p.id === req.body.packageId);
      if (!pkg) throw badRequest("packageId", `unknown package; choose one of ${config.creditPackages.map((p) => p.id).join(", ")}`);
      const id = crypto.randomUUID();
      // Recorded first: the webhook finds the purchase (owner, credits) by its session, never by what the event says.
      await db.insert(purchases).values({ id, ownerId: req.caller!.id, packageId: pkg.id, credits: pkg.credits, priceCents: pkg.priceCents });
      let session: Stripe.Checkout.Session;
      try {
        session = await stripe.checkout.sessions.create(
          {
            mode: "payment",
            client_reference_id: id,
            metadata: { purchaseId: id },
            line_items: [
              {
                quantity: 1,
                price_data: {
                  currency: "usd",
                  unit_amount: pkg.priceCents,
                  product_data: { name: `${pkg.credits.toLocaleString("en-US")} Tropic credits` },
                },
              },
            ],
            success_url: `${baseUrl}/credits?purchase=${id}`,
            cancel_url: `${baseUrl}/credits?purchase=cancelled`,
          },
          { idempotencyKey: `tropic-purchase-${id}` },
        );
      } catch (err) {
        await db.update(purchases).set({ state: "expired" }).where(eq(purchases.id, id));
        req.log.warn({ err: { message: (err as Error).message } }, "stripe checkout session could not be created");
        throw new ApiError(502, "payment_provider_unavailable", "the payment provider did not answer; nothing was charged, try again");
      }
      await db.update(purchases).set({ stripeSessionId: session.id }).where(eq(purchases.id, id));
      await recordEvent(db, { ownerId: req.caller!.id, action: "credits.purchase_started", details: { purchaseId: id, credits: pkg.credits } });
      return reply.code(201).send({ purchaseId: id, checkoutUrl: session.url ?? "" });
    },
  );

  // Stripe's webhook: the signature is checked over the raw body, so this route keeps the body as text.
  await app.register(async (hook) => {
    hook.removeAllContentTypeParsers();
    hook.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));
    hook.post(STRIPE_WEBHOOK_PATH, { schema: { hide: true } }, async (req) => {
      if (!stripe || !config.stripe) throw disabled();
      const signature = req.headers["stripe-signature"];
      if (typeof signature !== "string" || !signature) throw badRequest("stripe-signature", "the Stripe-Signature header is missing");
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(String(req.body ?? ""), signature, config.stripe.webhookSecret);
      } catch {
        throw badRequest("stripe-signature", "the webhook signature does not verify (wrong secret, altered body or too old)");
      }
      if (event.type !== "checkout.session.completed" && event.type !== "checkout.session.async_payment_succeeded") {
        if (event.type === "checkout.session.expired") await expire(event.data.object as Stripe.Checkout.Session);
        return { received: true, credited: false };
      }
      const session = event.data.object as Stripe.Checkout.Session;
      if (session.payment_status !== "paid") return { received: true, credited: false };
      const [p] = await db.select().from(purchases).where(eq(purchases.stripeSessionId, session.id)).limit(1);
      if (!p) {
        req.log.warn({ stripeEvent: event.id }, "paid checkout session without a purchase of ours");
        return { received: true, credited: false };
      }
      const inserted = await db
        .insert(creditLedger)
        .values({
          ownerId: p.ownerId,
          kind: "purchase",
          amountMilli: p.credits * 1000,
          idempotencyKey: `stripe:${session.id}`,
          note: `purchase of ${p.credits} credits (Stripe ${event.id})`,
          createdAt: new Date(),
        })
        .onConflictDoNothing()
        .returning({ id: creditLedger.id });
      if (inserted.length) {
        await db
          .update(purchases)
          .set({ state: "paid", stripeEventId: event.id, paidAt: new Date() })
          .where(and(eq(purchases.id, p.id), eq(purchases.state, "pending")));
        await recordEvent(db, { ownerId: p.ownerId, action: "credits.purchase", details: { purchaseId: p.id, credits: p.credits } });
        // Instances stopped for lack of credits start again now, not at the next 5-minute tick.
        const r = await checkLimits(database.pool, p.ownerId, { rates: loadRates(config.ratesFile) });
        for (const id of [...r.paused, ...r.resumed]) await manager?.changed(id);
      }
      return { received: true, credited: inserted.length > 0 };
    });
  });

  async function expire(session: Stripe.Checkout.Session) {
    await db
      .update(purchases)
      .set({ state: "expired" })
      .where(and(eq(purchases.stripeSessionId, session.id), eq(purchases.state, "pending")));
  }
};

/** A Stripe client; `apiBase` points it elsewhere (a test's mock Stripe API on loopback). */
export function stripeClient(secretKey: string, apiBase?: string): Stripe {
  if (!apiBase) return new Stripe(secretKey, { maxNetworkRetries: 2, timeout: 20_000 });
  const u = new URL(apiBase);
  return new Stripe(secretKey, {
    host: u.hostname,
    port: Number(u.port || (u.protocol === "https:" ? 443 : 80)),
    protocol: u.protocol.replace(":", "") as "http" | "https",
    maxNetworkRetries: 0,
    timeout: 10_000,
  });
}
