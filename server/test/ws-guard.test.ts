// The proxied WebSocket's guard, frame by frame: requests that would store a model key inside OpenClaw
// are renamed (same id, the gateway answers them "unknown method: <where keys go>"), everything else
// passes byte for byte or as the same message: split across chunks, fragmented, with pings between.
// (Through a real gateway and the proxy: server/test/fresh-machine.e2e.test.ts.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { ClientFrameGuard, encodeMasked, refusedMethodName } from "../src/proxy/ws-guard.ts";

/** Runs chunks through a guard; returns the messages the gateway would read (text payloads, control opcodes). */
async function through(chunks: Buffer[]): Promise<{ texts: string[]; opcodes: number[]; guard: ClientFrameGuard }> {
  const g = new ClientFrameGuard();
  const out: Buffer[] = [];
  g.on("data", (d: Buffer) => out.push(d));
  for (const c of chunks) g.write(c);
  g.end();
  await new Promise((r) => g.once("end", r));
  const all = Buffer.concat(out);
  const texts: string[] = [];
  const opcodes: number[] = [];
  let at = 0;
  while (at < all.length) {
    const opcode = all[at]! & 0x0f;
    assert.ok(all[at + 1]! & 0x80, "the gateway gets masked frames");
    let len = all[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = all.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(all.readBigUInt64BE(p));
      p += 8;
    }
    const mask = all.subarray(p, p + 4);
    const payload = Buffer.from(all.subarray(p + 4, p + 4 + len)).map((b, i) => b ^ mask[i & 3]!);
    opcodes.push(opcode);
    if (opcode === 1) texts.push(Buffer.from(payload).toString("utf8"));
    at = p + 4 + len;
  }
  return { texts, opcodes, guard: g };
}

const req = (method: string, params: unknown = {}) => Buffer.from(JSON.stringify({ type: "req", id: "r1", method, params }));

test("a request that would store a model key inside OpenClaw is renamed, keeping its id; its key is not passed on", async () => {
  const { texts, guard } = await through([encodeMasked(1, req("models.authSetApiKey", { provider: "anthropic", apiKey: "sk-ant-secret" }))]);
  const m = JSON.parse(texts[0]!);
  assert.equal(m.id, "r1");
  assert.equal(m.method, refusedMethodName("models.authSetApiKey"));
  assert.match(m.method, /Settings → Credentials/);
  assert.ok(!texts[0]!.includes("sk-ant-secret"), "the key itself does not reach the gateway");
  assert.deepEqual(guard.refused, ["models.authSetApiKey"]);
});

test("everything else passes: chat, connect, config reads; split across chunks at every byte", async () => {
  const frames = [
    encodeMasked(1, req("connect", { auth: { token: "t" } })),
    encodeMasked(1, req("chat.send", { message: "the word method and apiKey in a chat" })),
    encodeMasked(1, Buffer.from("not json")),
    encodeMasked(1, Buffer.alloc(70_000, "x")),
  ];
  const all = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let i = 0; i < all.length; i += 7) chunks.push(all.subarray(i, i + 7));
  const { texts, guard } = await through(chunks);
  assert.equal(texts.length, 4);
  assert.equal(JSON.parse(texts[0]!).method, "connect");
  assert.equal(JSON.parse(texts[1]!).method, "chat.send");
  assert.equal(texts[2], "not json");
  assert.equal(texts[3]!.length, 70_000);
  assert.deepEqual(guard.refused, []);
});

test("a fragmented request with a ping between its fragments is gathered and still caught", async () => {
  const payload = req("secrets.store.set", { name: "ANTHROPIC_API_KEY", value: "v" });
  const first = encodeMasked(1, payload.subarray(0, 10));
  first[0] = 0x01; // FIN off
  const ping = encodeMasked(9, Buffer.from("p"));
  const last = encodeMasked(0, payload.subarray(10)); // continuation, FIN on
  const { texts, opcodes, guard } = await through([first, ping, last]);
  assert.deepEqual(opcodes, [9, 1], "the ping passes at once, then the whole message");
  assert.equal(JSON.parse(texts[0]!).method, refusedMethodName("secrets.store.set"));
  assert.deepEqual(guard.refused, ["secrets.store.set"]);
});

test("a frame larger than 16 MiB is refused (the connection closes)", async () => {
  const g = new ClientFrameGuard();
  const head = Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 0]); // 256 MiB, masked
  const err = new Promise<Error>((r) => g.once("error", r));
  g.write(head);
  assert.match((await err).message, /too large/);
});
