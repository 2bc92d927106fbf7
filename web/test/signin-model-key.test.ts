// At the API, what the dashboard relies on for the new user's first steps (no browser here; the
// browser side is chat-signin.e2e.test.ts):
//  - a signed-out browser opening /i/<id>/… is sent to /signin?next=<that path>; API clients keep the
//    JSON 401; the sign-in page refuses a `next` that is not a path here (open redirect);
//  - GET /api/v1/credentials says whether the platform has a Claude key (a boolean, never the key) and
//    which key the caller's instances get;
//  - the credit forecast: a balance of 0 pauses nothing when only free instances run (the meter itself
//    is asked), and says so; paid instances at 0 are paused, and the forecast says that.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { checkLimits } from "../../server/src/credits/meter.ts";
import { DEFAULT_RATES, mergeRates } from "../../server/src/credits/rates.ts";
import { forecast, usage } from "../../server/src/credits/usage.ts";
import { signInLocation } from "../../server/src/proxy/index.ts";
import { safeNextPath } from "../../server/src/routes/web.ts";
import { signUp, type TestApp, type TestUser, testApp } from "../../server/test/harness.ts";

const PLATFORM_KEY = "sk-ant-api03-platform-key-never-shown-0000";
const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

describe("signed out at /i/<id>/: browsers go to sign in, API clients get the JSON 401", () => {
  let h: TestApp;
  let a: TestUser;
  let b: TestUser;
  let id: string;
  before(async () => {
    h = await testApp("pglite");
    a = await signUp(h.app);
    b = await signUp(h.app);
    const r = await h.app.inject({ method: "POST", url: "/api/v1/instances", headers: a.auth, payload: { name: "home" } });
    assert.equal(r.statusCode, 201, r.body);
    id = r.json().id;
  });
  after(() => h?.close());

  test("a page load (GET, Accept: text/html) → 302 to /signin with the path and query as next", async () => {
    for (const [path, next] of [
      [`/i/${id}/`, `/i/${id}/`],
      [`/i/${id}/chat?session=main`, `/i/${id}/chat?session=main`],
      [`/i/${id}`, `/i/${id}`],
    ]) {
      const r = await h.app.inject({ url: path!, headers: { accept: HTML } });
      assert.equal(r.statusCode, 302, `${path}: ${r.body}`);
      assert.equal(r.headers.location, `/signin?next=${encodeURIComponent(next!)}`);
      assert.equal(r.headers["cache-control"], "no-store");
      // The sign-in page it names is served, next and all.
      const page = await h.app.inject({ url: String(r.headers.location) });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers["content-type"]), /text\/html/);
    }
    // Whoever asks: an instance that is not there, or not a UUID, goes the same way (nothing is told before sign-in).
    const other = await h.app.inject({ url: "/i/00000000-0000-4000-8000-000000000000/", headers: { accept: HTML } });
    assert.equal(other.statusCode, 302);
  });

  test("API clients keep the JSON 401: no text/html, another method, or a bad bearer token", async () => {
    const cases: { method?: "GET" | "POST" | "HEAD"; headers: Record<string, string> }[] = [
      { headers: {} },
      { headers: { accept: "application/json" } },
      { headers: { accept: "*/*" } },
      { method: "POST", headers: { accept: HTML } },
      { method: "HEAD", headers: { accept: HTML } },
      { headers: { accept: HTML, authorization: "Bearer trp_not-a-token" } },
    ];
    for (const c of cases) {
      const r = await h.app.inject({ method: c.method ?? "GET", url: `/i/${id}/`, headers: c.headers });
      assert.equal(r.statusCode, 401, JSON.stringify(c));
      assert.equal(r.headers.location, undefined);
      if (c.method !== "HEAD") assert.equal(r.json().error.code, "unauthorized", JSON.stringify(c));
    }
  });

  test("signed in, the redirect is not used: the owner gets the hand-off to the instance's origin, another user gets the 404", async () => {
    const own = await h.app.inject({ url: `/i/${id}/`, headers: { accept: HTML, cookie: a.cookie } });
    assert.equal(own.statusCode, 200, "past auth");
    assert.ok(own.body.includes(`action="http://${id}.localhost/_tropic/handoff"`), own.body);
    const theirs = await h.app.inject({ url: `/i/${id}/`, headers: { accept: HTML, cookie: b.cookie } });
    assert.equal(theirs.statusCode, 404);
  });

  test("the sign-in page keeps only a path of this server as next; anything else is dropped (no open redirect)", async () => {
    for (const good of [`/i/${id}/`, "/chat", "/settings#credentials", "/credits?x=1"]) {
      const r = await h.app.inject({ url: `/signin?next=${encodeURIComponent(good)}` });
      assert.equal(r.statusCode, 200, good);
    }
    const evil = [
      "https://evil.example/",
      "//evil.example/",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      " /evil",
      "javascript:alert(1)",
      "evil.example",
      "http:/evil.example",
      "",
    ];
    for (const bad of evil)
      for (const page of ["/signin", "/signup"]) {
        const r = await h.app.inject({ url: `${page}?next=${encodeURIComponent(bad)}` });
        assert.equal(r.statusCode, 302, `${page} next=${JSON.stringify(bad)}`);
        assert.equal(r.headers.location, page, `${page} next=${JSON.stringify(bad)}: back to the page without it`);
      }
    // A repeated next is an array: refused too.
    const twice = await h.app.inject({ url: "/signin?next=/chat&next=https://evil.example" });
    assert.equal(twice.statusCode, 302);
    for (const bad of evil) assert.equal(safeNextPath(bad), false, JSON.stringify(bad));
    assert.equal(safeNextPath("/i/x/?q=%2F%2Fevil"), true, "an encoded // in the query is only data");
  });

  test("the proxy's next is always a path here: control characters and very long paths fall back to the instance root", () => {
    const u = "0b7b4a3c-8a3e-4f7e-9d2a-1c2b3c4d5e6f";
    assert.equal(signInLocation(`/i/${u}/x`), `/signin?next=${encodeURIComponent(`/i/${u}/x`)}`);
    assert.equal(signInLocation(`/i/${u}/${"a".repeat(2000)}`), `/signin?next=${encodeURIComponent(`/i/${u}/`)}`);
    assert.equal(signInLocation(`/i/${u}/a\\b`), `/signin?next=${encodeURIComponent(`/i/${u}/`)}`);
    assert.equal(signInLocation("/i/no\\t-a-uuid/\\evil"), "/signin?next=%2F");
  });
});

describe("GET /api/v1/credentials says which Claude key instances get (platformKey: a boolean, never the key)", () => {
  test("without TROPIC_PLATFORM_ANTHROPIC_KEY: platformKey false, source none, then own", async () => {
    const h = await testApp("pglite");
    try {
      const u = await signUp(h.app);
      const r = await h.app.inject({ url: "/api/v1/credentials", headers: u.auth });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { items: [], platformKey: false, modelKey: { source: "none" } });
      const put = await h.app.inject({
        method: "PUT",
        url: "/api/v1/credentials/ANTHROPIC_API_KEY",
        headers: u.auth,
        payload: { value: "sk-ant-api03-own-key-abcdefgh-1234" },
      });
      assert.equal(put.statusCode, 200, put.body);
      const after = (await h.app.inject({ url: "/api/v1/credentials", headers: u.auth })).json();
      assert.equal(after.platformKey, false);
      assert.deepEqual(after.modelKey, { source: "own" });
      // Another credential is not a model key.
      const v = await signUp(h.app);
      await h.app.inject({ method: "PUT", url: "/api/v1/credentials/BRAVE_API_KEY", headers: v.auth, payload: { value: "BSA-123456789012" } });
      assert.deepEqual((await h.app.inject({ url: "/api/v1/credentials", headers: v.auth })).json().modelKey, { source: "none" });
    } finally {
      await h.close();
    }
  });

  test("with TROPIC_PLATFORM_ANTHROPIC_KEY: platformKey true, source platform until the user adds their own", async () => {
    const h = await testApp("pglite", { platformAnthropicKey: PLATFORM_KEY });
    try {
      const u = await signUp(h.app);
      const r = await h.app.inject({ url: "/api/v1/credentials", headers: u.auth });
      assert.deepEqual(r.json(), { items: [], platformKey: true, modelKey: { source: "platform" } });
      assert.ok(!r.body.includes(PLATFORM_KEY) && !r.body.includes(PLATFORM_KEY.slice(-4)), "not the key, nor its end");
      await h.app.inject({
        method: "PUT",
        url: "/api/v1/credentials/ANTHROPIC_API_KEY",
        headers: u.auth,
        payload: { value: "sk-ant-api03-own-key-abcdefgh-1234" },
      });
      const after = (await h.app.inject({ url: "/api/v1/credentials", headers: u.auth })).json();
      assert.deepEqual([after.platformKey, after.modelKey.source], [true, "own"]);
      // The OpenAPI document describes the field.
      const doc = (await h.app.inject({ url: "/api/openapi.json" })).json();
      const schema = doc.paths["/api/v1/credentials"].get.responses["200"].content["application/json"].schema;
      assert.equal(schema.properties.platformKey.type, "boolean");
      assert.deepEqual(schema.properties.modelKey.properties.source.enum, ["own", "platform", "none"]);
    } finally {
      await h.close();
    }
  });
});

describe("credits at a balance of 0: one story from the meter, the usage API and its forecast", () => {
  let h: TestApp;
  let u: TestUser;
  let id: string;
  before(async () => {
    h = await testApp("pglite");
    u = await signUp(h.app);
    const r = await h.app.inject({ method: "POST", url: "/api/v1/instances", headers: u.auth, payload: { name: "home" } });
    id = r.json().id;
    // Running, as the reconciler would have it (no gateway in this test).
    await h.database.pool.query("UPDATE instances SET state = 'running', started_at = now() WHERE id = $1", [id]);
  });
  after(() => h?.close());
  const get = async () => (await h.app.inject({ url: "/api/v1/credits/usage", headers: u.auth })).json();

  test("a free local instance at balance 0: the meter does not pause it, and the forecast says nothing is charged", async () => {
    const limits = await checkLimits(h.database.pool, u.id, { rates: mergeRates({}) });
    assert.deepEqual(limits.paused, [], "the meter leaves a free instance alone at balance 0");
    const inst = (await h.app.inject({ url: `/api/v1/instances/${id}`, headers: u.auth })).json();
    assert.deepEqual([inst.desiredState, inst.pauseReason], ["running", null]);
    const usage = await get();
    assert.deepEqual([usage.balance, usage.burnRate, usage.runsOutAt, usage.hoursLeft], [0, 0, null, null]);
    assert.equal(usage.forecast.status, "free");
    assert.equal(usage.forecast.summary, "Balance 0 · nothing is charged: your instances are free (local).");
    assert.deepEqual(usage.forecast.freeInstances, ["home"]);
    assert.deepEqual(usage.forecast.paidInstances, []);
  });

  test("the same instance at a price: charged at 0 → used_up; paused by the meter → paused; both say so", async () => {
    const rates = mergeRates({ compute: { local: 12 } });
    const burning = await usage(h.database.pool, u.id, { rates });
    assert.equal(burning.forecast.status, "used_up");
    assert.match(burning.forecast.summary, /^Balance 0: home costs 12 credits\/hour and is paused within 5 minutes until credits are added\.$/);
    assert.equal(burning.hoursLeft, 0);
    const limits = await checkLimits(h.database.pool, u.id, { rates });
    assert.deepEqual(limits.paused, [id], "a priced instance is paused at balance 0");
    await h.database.pool.query("UPDATE instances SET state = 'stopped' WHERE id = $1", [id]);
    const paused = await usage(h.database.pool, u.id, { rates });
    assert.equal(paused.forecast.status, "paused");
    assert.equal(paused.forecast.summary, "Balance 0: home is paused until credits are added.");
    assert.deepEqual(paused.forecast.pausedForCredits, ["home"]);
    // Back at the default (free) rates the meter resumes it.
    const back = await checkLimits(h.database.pool, u.id, { rates: mergeRates({}) });
    assert.deepEqual(back.resumed, [id]);
  });

  test("the forecast's other states", () => {
    const inst = (name: string, o: Partial<Parameters<typeof forecast>[0][number]> = {}) => ({
      id: name,
      name,
      instanceType: "local",
      state: "running",
      stateReason: null,
      pauseReason: null,
      pausedUntil: null,
      usesPlatformKey: false,
      computeRate: 0,
      modelRate: 0,
      burnRate: 0,
      spentToday: 0,
      spentThisMonth: 0,
      ...o,
    });
    const cloud = inst("cloud", { instanceType: "t3.micro", computeRate: 5, burnRate: 5 });
    assert.deepEqual(forecast([inst("home"), cloud], 100, 5, 20), {
      status: "runs_out",
      summary: "Runs out in 20 hours at 5 credits/hour; then cloud is paused until credits are added.",
      paidInstances: ["cloud"],
      freeInstances: ["home"],
      pausedForCredits: [],
    });
    // Nothing runs; at 0 a paid instance would be paused as soon as it starts.
    const idle = forecast([inst("home", { state: "stopped" }), { ...cloud, state: "stopped", burnRate: 0 }], 0, 0, null);
    assert.equal(idle.status, "idle");
    assert.equal(
      idle.summary,
      "Balance 0 · nothing is charged: no instance is running. cloud costs credits when running: started now, it is paused until credits are added.",
    );
    // A free one runs beside a stopped paid one.
    const mixed = forecast([inst("home"), { ...cloud, state: "stopped", burnRate: 0 }], 0, 0, null);
    assert.equal(mixed.status, "free");
    assert.match(mixed.summary, /^Balance 0 · nothing is charged: your running instance is free \(local\)\. cloud costs credits/);
    // The platform key makes a local instance paid (the model rate).
    const platform = forecast([inst("home", { usesPlatformKey: true, modelRate: 50, burnRate: 50 })], 0, 50, 0);
    assert.equal(platform.status, "used_up");
    assert.equal(forecast([], 0, 0, null).summary, "Balance 0 · nothing is charged: no instance is running.");
    assert.equal(DEFAULT_RATES.compute.local, 0, "local compute is free by default");
  });
});
