// The pairing loop's decisions (server/src/whatsapp/), with the instance's answers scripted: what the
// MOCK e2e tests cannot reach quickly — the login expiring (Retry), a wait that returns no new QR (start
// again without force, as OpenClaw's UI does), the caller going away, and phone rules → channel config.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type PairEvent, phonePolicy, WhatsApp } from "../src/whatsapp/index.ts";

type Call = { kind: string; payload: Record<string, unknown> };
function scripted(answer: (c: Call, n: number) => unknown) {
  const calls: Call[] = [];
  const request = async (_id: string, kind: string, payload: Record<string, unknown>) => {
    const c = { kind, payload };
    calls.push(c);
    return { ok: true, result: answer(c, calls.length) };
  };
  return { calls, wa: new WhatsApp(request as never) };
}
const png = (n: number) => `data:image/png;base64,QR${n}`;
const notLinked = { enabled: true, loaded: true, linked: false, number: null, connected: false, dmPolicy: "pairing", allowFrom: [] };
const policy = { dmPolicy: "pairing" as const, allowFrom: [] };

test("an unconnected wait without a new QR starts the login again (force false); each new QR is sent once; then paired", async () => {
  let starts = 0;
  const { calls, wa } = scripted((c) => {
    if (c.kind === "whatsapp_enable") return notLinked;
    if (c.kind === "whatsapp_status") return { ...notLinked, linked: true, number: "+15550001111" };
    if (c.payload.step === "start") return { connected: false, message: "scan", qrDataUrl: png(++starts > 2 ? 2 : starts) };
    // waits: no news twice, then connected
    return starts >= 3 ? { connected: true, message: "ok", qrDataUrl: null } : { connected: false, message: "still waiting", qrDataUrl: null };
  });
  const events: PairEvent[] = [];
  const last = await wa.pair("i1", policy, (e) => events.push(e), new AbortController().signal);
  assert.deepEqual(last, { type: "paired", number: "+15550001111" });
  assert.deepEqual(
    events.filter((e) => e.type === "qr").map((e) => (e as { qrDataUrl: string }).qrDataUrl),
    [png(1), png(2)],
    "the same QR again is not sent again",
  );
  const starts2 = calls.filter((c) => c.payload.step === "start");
  assert.equal(starts2.length, 3);
  assert.ok(
    starts2.every((c) => c.payload.force === false),
    "never forced: a running login is not thrown away",
  );
  const waits = calls.filter((c) => c.payload.step === "wait");
  assert.equal(waits[0]!.payload.currentQrDataUrl, png(1), "the wait knows which QR is shown");
});

test("a login that outlives its lifetime ends as expired; the caller going away ends it without more questions", async () => {
  const { wa } = scripted((c) => {
    if (c.kind === "whatsapp_enable") return notLinked;
    if (c.payload.step === "start") return { connected: false, message: "scan", qrDataUrl: png(1) };
    return { connected: false, message: "still waiting", qrDataUrl: null };
  });
  const events: PairEvent[] = [];
  const last = await wa.pair("i1", policy, (e) => events.push(e), new AbortController().signal, { lifetimeMs: 300, waitMs: 100 });
  assert.equal(last.type, "expired");
  assert.equal(events.at(-1)!.type, "expired");

  const ac = new AbortController();
  const s2 = scripted((c, n) => {
    if (c.kind === "whatsapp_enable") return notLinked;
    if (n >= 4) ac.abort();
    return c.payload.step === "start" ? { connected: false, message: "scan", qrDataUrl: png(n) } : { connected: false, message: "", qrDataUrl: null };
  });
  const r = await s2.wa.pair("i1", policy, () => {}, ac.signal);
  assert.deepEqual(r, { type: "error", message: "cancelled" });
  assert.ok(s2.calls.length <= 5, `no questions after the caller left (${s2.calls.length})`);
});

test("already linked: paired at once, no QR; a refusal without a QR is an error in OpenClaw's words", async () => {
  const a = scripted(() => ({ ...notLinked, linked: true, number: "+15550002222" }));
  const events: PairEvent[] = [];
  assert.deepEqual(await a.wa.pair("i1", policy, (e) => events.push(e), new AbortController().signal), { type: "paired", number: "+15550002222" });
  assert.equal(events.filter((e) => e.type === "qr").length, 0);
  const b = scripted((c) =>
    c.kind === "whatsapp_login"
      ? { connected: false, message: "WhatsApp auth state is still stabilizing. Retry login in a moment.", qrDataUrl: null }
      : notLinked,
  );
  assert.deepEqual(await b.wa.pair("i1", policy, () => {}, new AbortController().signal), {
    type: "error",
    message: "WhatsApp auth state is still stabilizing. Retry login in a moment.",
  });
});

test("phone rules → OpenClaw's channel config: whole numbers only; prefixes and blocklists are said to be the gate's alone", () => {
  assert.deepEqual(phonePolicy({ phoneMode: "allowlist", phonePatterns: ["+6591234567", "+65*"] }), {
    policy: { dmPolicy: "allowlist", allowFrom: ["+6591234567"] },
    enforcedByOpenClaw: true,
    notes: ["OpenClaw's allowFrom takes whole numbers only: the pattern +65* cannot be expressed there and is enforced by the gate alone."],
  });
  const prefixes = phonePolicy({ phoneMode: "allowlist", phonePatterns: ["+65*", "+44*"] });
  assert.deepEqual(prefixes.policy, { dmPolicy: "pairing", allowFrom: [] });
  assert.equal(prefixes.enforcedByOpenClaw, false);
  assert.match(prefixes.notes.join(" "), /\+65\*, \+44\* cannot be expressed.*gate enforces the allowlist/);
  const block = phonePolicy({ phoneMode: "blocklist", phonePatterns: ["+6591234567"] });
  assert.deepEqual(block.policy, { dmPolicy: "pairing", allowFrom: [] });
  assert.match(block.notes[0]!, /cannot express a blocklist/);
  assert.deepEqual(phonePolicy({ phoneMode: "unrestricted", phonePatterns: [] }), {
    policy: { dmPolicy: "pairing", allowFrom: [] },
    enforcedByOpenClaw: false,
    notes: [],
  });
});

test("an agent that answers a WhatsApp command with no status (an older agent) is a 502 in the API's words, not a crash", async () => {
  const { wa } = scripted(() => undefined);
  await assert.rejects(wa.status("i1"), (e: { status?: number; message?: string }) => {
    assert.equal(e.status, 502);
    assert.match(String(e.message), /did not answer about WhatsApp/);
    return true;
  });
});
