// Money and key management: Stripe purchases (a MOCK Stripe API on loopback for Checkout; webhooks
// signed by the test with the real Stripe library), AWS KMS as the key-encryption key (MOCK KMS via
// aws-sdk-client-mock, doing real AES under a test key), online re-wrapping under a new key, and a
// dump of the whole database grepped for every secret the test stored. Both backends.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { DecryptCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { eq, sql } from "drizzle-orm";
import Stripe from "stripe";
import { instances } from "../src/db/schema.ts";
import { openJson, sealJson } from "../src/instances/tokens.ts";
import { storeCredential } from "../src/routes/credentials.ts";
import { Keyring, LocalKek, open } from "../src/secrets/envelope.ts";
import { dbSeedStore, loadKeyring } from "../src/secrets/keyring.ts";
import { KmsKek } from "../src/secrets/kms.ts";
import { rewrapAll } from "../src/secrets/rewrap.ts";
import { backends, freshDatabase, signUp, TEST_KEY, testApp } from "./harness.ts";

const WEBHOOK_SECRET = "whsec_test_tropic_0123456789";
const STRIPE_KEY = "sk_test_tropic_0123456789abcdef";

/** MOCK Stripe API: answers Checkout Session creation like Stripe does and records the requests. */
async function mockStripeApi() {
  const seen: { url: string; body: URLSearchParams; idempotencyKey?: string }[] = [];
  let n = 0;
  let failNext = false;
  const server = createServer((req: IncomingMessage, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", body: new URLSearchParams(raw), idempotencyKey: req.headers["idempotency-key"] as string | undefined });
      if (failNext) {
        failNext = false;
        res.writeHead(500, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: { type: "api_error", message: "boom" } }));
      }
      const id = `cs_test_${++n}`;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id, object: "checkout.session", url: `https://checkout.stripe.com/c/pay/${id}`, payment_status: "unpaid" }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    seen,
    failOnce: () => (failNext = true),
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function signedEvent(type: string, session: Record<string, unknown>, id = `evt_${randomBytes(6).toString("hex")}`) {
  const payload = JSON.stringify({ id, object: "event", type, data: { object: { object: "checkout.session", ...session } } });
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
  return { payload, header, id };
}

/** MOCK KMS: Encrypt/Decrypt as AES-256-GCM under a key only this "KMS" holds; checks the context. */
function mockKms() {
  const master = randomBytes(32);
  const kms = mockClient(KMSClient);
  let calls = 0;
  kms.on(EncryptCommand).callsFake((input) => {
    calls++;
    assert.deepEqual(input.EncryptionContext, { purpose: "tropic-data-key" });
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", master, iv);
    const ct = Buffer.concat([c.update(Buffer.from(input.Plaintext)), c.final()]);
    return { CiphertextBlob: Buffer.concat([iv, c.getAuthTag(), ct]), KeyId: input.KeyId };
  });
  kms.on(DecryptCommand).callsFake((input) => {
    calls++;
    assert.deepEqual(input.EncryptionContext, { purpose: "tropic-data-key" });
    const b = Buffer.from(input.CiphertextBlob);
    const d = createDecipheriv("aes-256-gcm", master, b.subarray(0, 12));
    d.setAuthTag(b.subarray(12, 28));
    return { Plaintext: Buffer.concat([d.update(b.subarray(28)), d.final()]), KeyId: input.KeyId };
  });
  return { kms, calls: () => calls };
}

for (const kind of await backends()) {
  test(`[${kind}] purchases are disabled without Stripe keys, with a clear message; the admin grants instead`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const admin = await signUp(h.app);
    const u = await signUp(h.app);
    const pk = (await h.app.inject({ url: "/api/v1/credits/packages", headers: u.auth })).json();
    assert.equal(pk.purchasesEnabled, false);
    assert.deepEqual(pk.packages[0], { id: "1000", credits: 1000, priceCents: 2500, currency: "usd" });
    const res = await h.app.inject({ method: "POST", url: "/api/v1/credits/purchase", headers: u.auth, payload: { packageId: "1000" } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, "purchases_disabled");
    assert.match(res.json().error.message, /TROPIC_STRIPE_SECRET_KEY/);
    const hook = await h.app.inject({
      method: "POST",
      url: "/api/v1/billing/stripe/webhook",
      payload: "{}",
      headers: { "content-type": "application/json" },
    });
    assert.equal(hook.statusCode, 409);
    const grant = await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/credits/grant",
      headers: admin.auth,
      payload: { email: u.email, credits: 300 },
    });
    assert.equal(grant.json().balance, 300);
  });

  test(`[${kind}] Stripe Checkout (MOCK Stripe API) and signed webhooks: credited exactly once; bad input changes nothing`, async (t) => {
    const stripeApi = await mockStripeApi();
    const h = await testApp(kind, {
      stripe: { secretKey: STRIPE_KEY, webhookSecret: WEBHOOK_SECRET, apiBase: stripeApi.url },
      publicUrl: "https://tropic.example.com",
    });
    t.after(async () => {
      await h.close();
      await stripeApi.close();
    });
    const { app } = h;
    await signUp(app);
    const u = await signUp(app);
    const other = await signUp(app);
    const balance = async (who = u) => (await app.inject({ url: "/api/v1/credits", headers: who.auth })).json().balance;
    const hook = (e: { payload: string; header: string }) =>
      app.inject({
        method: "POST",
        url: "/api/v1/billing/stripe/webhook",
        payload: e.payload,
        headers: { "content-type": "application/json", "stripe-signature": e.header },
      });

    // Bad input: unknown package, unknown field.
    const badPkg = await app.inject({ method: "POST", url: "/api/v1/credits/purchase", headers: u.auth, payload: { packageId: "999" } });
    assert.equal(badPkg.statusCode, 400);
    assert.equal(badPkg.json().error.field, "packageId");
    const extra = await app.inject({
      method: "POST",
      url: "/api/v1/credits/purchase",
      headers: u.auth,
      payload: { packageId: "1000", credits: 1e9 },
    });
    assert.equal(extra.statusCode, 400);
    assert.equal(stripeApi.seen.length, 0, "nothing sent to Stripe");

    const res = await app.inject({ method: "POST", url: "/api/v1/credits/purchase", headers: u.auth, payload: { packageId: "1000" } });
    assert.equal(res.statusCode, 201, res.body);
    assert.match(res.json().checkoutUrl, /^https:\/\/checkout\.stripe\.com\//);
    const sent = stripeApi.seen.at(-1)!;
    assert.equal(sent.url, "/v1/checkout/sessions");
    assert.equal(sent.body.get("line_items[0][price_data][unit_amount]"), "2500");
    assert.equal(sent.body.get("line_items[0][price_data][currency]"), "usd");
    assert.equal(sent.body.get("client_reference_id"), res.json().purchaseId);
    assert.equal(sent.body.get("success_url"), `https://tropic.example.com/credits?purchase=${res.json().purchaseId}`);
    assert.equal(sent.idempotencyKey, `tropic-purchase-${res.json().purchaseId}`);
    const sessionId = "cs_test_1";

    // Not yet paid: nothing. Bad signatures, a missing header, a tampered body: 400 naming the header, nothing credited.
    assert.equal((await hook(signedEvent("checkout.session.completed", { id: sessionId, payment_status: "unpaid" }))).json().credited, false);
    const good = signedEvent("checkout.session.completed", { id: sessionId, payment_status: "paid", client_reference_id: res.json().purchaseId });
    const forged = Stripe.webhooks.generateTestHeaderString({ payload: good.payload, secret: "whsec_wrong" });
    for (const [payload, header] of [
      [good.payload, forged],
      [good.payload.replace('"paid"', '"paid" '), good.header],
      [good.payload, ""],
      ["not json", Stripe.webhooks.generateTestHeaderString({ payload: "not json", secret: WEBHOOK_SECRET })],
    ] as const) {
      const r = await app.inject({
        method: "POST",
        url: "/api/v1/billing/stripe/webhook",
        payload,
        headers: { "content-type": "application/json", ...(header ? { "stripe-signature": header } : {}) },
      });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal(r.json().error.field, "stripe-signature");
      assert.ok(!r.body.includes(WEBHOOK_SECRET));
    }
    const stale = Stripe.webhooks.generateTestHeaderString({
      payload: good.payload,
      secret: WEBHOOK_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    assert.equal((await hook({ payload: good.payload, header: stale })).statusCode, 400, "a replay older than Stripe's tolerance");
    assert.equal(await balance(), 0);

    // Paid: credited once, however often Stripe delivers it (same event, or another event for the same session).
    assert.equal((await hook(good)).json().credited, true);
    assert.equal((await hook(good)).json().credited, false);
    assert.equal(
      (await hook(signedEvent("checkout.session.async_payment_succeeded", { id: sessionId, payment_status: "paid" }))).json().credited,
      false,
    );
    const concurrent = await Promise.all([1, 2, 3].map(() => hook(good)));
    assert.ok(concurrent.every((r) => r.statusCode === 200 && r.json().credited === false));
    assert.equal(await balance(), 1000);
    assert.equal(await balance(other), 0, "another user's balance is untouched");
    const list = (await app.inject({ url: "/api/v1/credits/purchases", headers: u.auth })).json().items;
    assert.deepEqual([list[0].state, list[0].credits, list[0].priceCents], ["paid", 1000, 2500]);
    assert.deepEqual((await app.inject({ url: "/api/v1/credits/purchases", headers: other.auth })).json().items, []);
    // An event for a session that is not ours: acknowledged, nothing credited.
    assert.equal((await hook(signedEvent("checkout.session.completed", { id: "cs_test_foreign", payment_status: "paid" }))).json().credited, false);
    // The payment provider down: a clear 502, the purchase is not left pending.
    stripeApi.failOnce();
    const down = await app.inject({ method: "POST", url: "/api/v1/credits/purchase", headers: u.auth, payload: { packageId: "5000" } });
    assert.equal(down.statusCode, 502);
    assert.ok(!h.logs.join("").includes(STRIPE_KEY), "the Stripe key is in no log line");
  });

  test(`[${kind}] AWS KMS as the key-encryption key (MOCK KMS), online re-wrap from the local key, and a database dump holds no secret`, async (t) => {
    const database = await freshDatabase(kind);
    t.after(() => database.close());
    const db = database.db;
    const owner = crypto.randomUUID();
    await db.execute(sql`INSERT INTO users (id, email, password_hash) VALUES (${owner}, ${`kms-${owner}@example.com`}, 'x')`);
    const secrets = [`sk-ant-api03-${randomBytes(24).toString("hex")}`, `ghp_${randomBytes(18).toString("hex")}`, randomBytes(24).toString("hex")];

    // Sealed under the local master key first.
    const local = new LocalKek(TEST_KEY);
    await storeCredential(db, local, owner, "ANTHROPIC_API_KEY", secrets[0]!);
    await storeCredential(db, local, owner, "skill:github:GITHUB_TOKEN", secrets[1]!);
    const instanceId = crypto.randomUUID();
    await db.insert(instances).values({
      id: instanceId,
      ownerId: owner,
      name: "kms",
      provider: "local",
      region: "local",
      instanceType: "local",
      desiredState: "running",
      state: "running",
      gatewayTokenEnc: await sealJson(local, secrets[2]!),
    });

    // KMS becomes current; the local key stays as a previous key: everything still opens (no downtime).
    const { kms, calls } = mockKms();
    const keyring = await loadKeyring(
      {
        masterKey: TEST_KEY.toString("hex"),
        masterKeyFile: undefined,
        dataDir: database.dataDir,
        masterKeyPrevious: undefined,
        kmsKeyId: "alias/tropic",
      },
      db,
      () => new KMSClient({ region: "us-east-1" }),
    );
    assert.equal(keyring.id, "kms:alias/tropic");
    const cred = async (name: string) => (await db.execute<any>(sql`SELECT * FROM credentials WHERE name = ${name}`)).rows[0];
    const openCred = async (k: Keyring, name: string) => {
      const r = await cred(name);
      return open(k, { ciphertext: r.ciphertext, iv: r.iv, authTag: r.auth_tag, wrappedKey: r.wrapped_key, kekId: r.kek_id });
    };
    assert.equal(await openCred(keyring, "ANTHROPIC_API_KEY"), secrets[0]);
    const newOne = await sealJson(keyring, "sealed under kms");
    assert.equal(newOne.kekId, "kms:alias/tropic");
    assert.equal(await openJson(keyring, newOne), "sealed under kms");

    // A second process derives the same subkeys (the seed is in the database, wrapped by KMS).
    const again = await new KmsKek(new KMSClient({ region: "us-east-1" }), "alias/tropic").init(dbSeedStore(db));
    assert.deepEqual(again.derive("gateway-proxy-session"), keyring.derive("gateway-proxy-session"));
    assert.equal(again.fingerprint("x"), keyring.fingerprint("x"));

    // Re-wrap online: only wrapped keys change; a second run has nothing left; the local key is no longer needed.
    const before = (await cred("ANTHROPIC_API_KEY")).ciphertext as Buffer;
    const report = await rewrapAll(db, keyring);
    assert.deepEqual(report.rewrapped, { credentials: 2, "instances.gateway_token_enc": 1 });
    assert.equal(report.remaining, 0);
    assert.deepEqual((await cred("ANTHROPIC_API_KEY")).ciphertext, before, "the ciphertext is unchanged; only the data key was re-wrapped");
    assert.equal((await cred("ANTHROPIC_API_KEY")).fingerprint, keyring.fingerprint(secrets[0]!));
    assert.deepEqual((await rewrapAll(db, keyring)).rewrapped, {});
    const kmsOnly = new Keyring(again);
    assert.equal(await openCred(kmsOnly, "ANTHROPIC_API_KEY"), secrets[0]);
    assert.equal(await openCred(kmsOnly, "skill:github:GITHUB_TOKEN"), secrets[1]);
    const [row] = await db.select().from(instances).where(eq(instances.id, instanceId));
    assert.equal(await openJson(kmsOnly, row!.gatewayTokenEnc!), secrets[2]);
    // A key that is not configured fails closed with a message naming it.
    await assert.rejects(() => openJson(new Keyring(new LocalKek(Buffer.alloc(32, 9))), row!.gatewayTokenEnc!), /kms:alias\/tropic.*not configured/);
    assert.ok(calls() > 0);
    kms.restore();

    // Local → local rotation the same way: TROPIC_MASTER_KEY_PREVIOUS keeps the old key usable.
    const next = randomBytes(32);
    const rotated = await loadKeyring(
      {
        masterKey: next.toString("hex"),
        masterKeyFile: undefined,
        dataDir: database.dataDir,
        masterKeyPrevious: TEST_KEY.toString("hex"),
        kmsKeyId: undefined,
      },
      db,
    );
    const localCred = crypto.randomUUID();
    await storeCredential(db, local, owner, `OLD_${localCred.slice(0, 8)}`, "old-local-secret-value");
    assert.equal(await openCred(rotated, `OLD_${localCred.slice(0, 8)}`), "old-local-secret-value");
    assert.equal((await rewrapAll(db, rotated)).remaining, 3, "the three KMS-wrapped rows need the KMS key: reported, never dropped");

    // The whole database, dumped, holds none of the secrets.
    const dump = await dumpDatabase(kind, database);
    assert.ok(dump.length > 10_000, "the dump has content");
    assert.ok(dump.includes(Buffer.from(`kms-${owner}@example.com`)), "the dump reads the data (plain columns are there)");
    for (const s of [...secrets, "old-local-secret-value", "sealed under kms"])
      assert.ok(!dump.includes(Buffer.from(s)), `secret ${s.slice(0, 6)}… not in the dump`);
  });
}

for (const kind of await backends()) {
  test(`[${kind}] through the API: a dump of the whole database holds no password, token, credential or SSH private key`, async (t) => {
    const h = await testApp(kind);
    t.after(() => h.close());
    const { app } = h;
    await signUp(app);
    const password = `pw-${randomBytes(9).toString("hex")}`;
    const u = await signUp(app, `dump-${Date.now()}@example.com`, password);
    const credential = `sk-ant-api03-${randomBytes(20).toString("hex")}`;
    assert.equal(
      (await app.inject({ method: "PUT", url: "/api/v1/credentials/ANTHROPIC_API_KEY", headers: u.auth, payload: { value: credential } })).statusCode,
      200,
    );
    const skill = `secret_${randomBytes(16).toString("hex")}`;
    assert.equal(
      (await app.inject({ method: "PUT", url: "/api/v1/credentials/NOTION_API_KEY", headers: u.auth, payload: { value: skill } })).statusCode,
      200,
    );
    assert.equal((await app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "dumped" } })).statusCode, 201);
    const pem = (await app.inject({ url: "/api/v1/ssh-key/private", headers: u.auth })).body;
    assert.match(pem, /BEGIN OPENSSH PRIVATE KEY/);
    const pemBody = pem.split("\n").slice(1, -2).join("");
    const session = u.cookie.split("=")[1]!;
    const dump = await dumpDatabase(kind, h.database as never);
    assert.ok(dump.includes(Buffer.from(u.email)), "the dump reads the data");
    for (const [what, secret] of [
      ["password", password],
      ["API token", u.token],
      ["session cookie", session],
      ["Claude API key", credential],
      ["skill credential", skill],
      ["SSH private key", pemBody.slice(0, 60)],
    ] as const)
      assert.ok(!dump.includes(Buffer.from(secret)), `${what} not in the dump`);
  });
}

/** PostgreSQL: pg_dump of the database. PGlite: every byte of its data directory after a checkpoint. */
async function dumpDatabase(
  kind: string,
  database: { url?: string; dataDir: string; pool: { query(q: string): Promise<unknown> } },
): Promise<Buffer> {
  await database.pool.query("CHECKPOINT");
  if (kind === "postgres") {
    const r = spawnSync("pg_dump", ["--no-owner", database.url!], { maxBuffer: 512 * 1024 * 1024 });
    assert.equal(r.status, 0, String(r.stderr));
    return r.stdout;
  }
  const parts: Buffer[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else parts.push(readFileSync(p));
    }
  };
  walk(join(database.dataDir, "pgdata"));
  return Buffer.concat(parts);
}
