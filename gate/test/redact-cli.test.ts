import assert from "node:assert/strict";
import { test } from "node:test";
import { PassThrough } from "node:stream";
import { gateCommand } from "../src/cli.ts";
import { Gate, REDACTED, redactSecrets } from "../src/index.ts";

test("redaction replaces only the secret and keeps the text around it", () => {
  const r = redactSecrets("id=AKIAIOSFODNN7EXAMPLE done");
  assert.equal(r.text, `id=${REDACTED} done`);
  assert.equal(redactSecrets("postgres://app:pw123456@db/x").text, `postgres://app:${REDACTED}@db/x`);
  assert.equal(
    redactSecrets("tok abcdef0123456789abcdef0123456789abcdef0123456789", { gatewayToken: "abcdef0123456789abcdef0123456789abcdef0123456789" }).text,
    `tok ${REDACTED}`,
  );
});

test("no false positives on SHAs, UUIDs, sums, public keys, certificates, prose", () => {
  const safe = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "id 123e4567-e89b-12d3-a456-426614174000",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  file.tar.gz",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host",
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXK\n-----END CERTIFICATE-----",
    "AWS access keys start with AKIA and GitHub tokens with ghp_; a JWT starts with eyJ.",
  ];
  for (const s of safe) assert.equal(redactSecrets(s).text, s, s);
});

test("Gate.redact: Cedar backstop catches a truncated private key", async () => {
  const g = await Gate.create({ packs: ["base"] });
  const out = g.redact("x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n");
  assert.ok(!out.text.includes("MIIEow"));
});

async function run(args: string[], input: string) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (d) => (out += d));
  stdin.end(input);
  const code = await gateCommand(args, { stdin, stdout, stderr });
  return { code, out };
}

test("gate eval streams one decision per line, in order", async () => {
  const { code, out } = await run(["eval"], `{"tool":"exec","params":{"command":"sudo ls"}}\n{"tool":"exec","params":{"command":"ls"}}\nnot json\n`);
  assert.equal(code, 0);
  const lines = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.decision),
    ["deny", "allow", "deny"],
  );
  const none = await run(["eval", "--packs", "none"], `{"tool":"exec","params":{"command":"sudo ls"}}\n`);
  assert.equal(JSON.parse(none.out).decision, "allow");
});

test("gate redact: text and --jsonl", async () => {
  assert.equal((await run(["redact"], "k=AKIAIOSFODNN7EXAMPLE\n")).out, `k=${REDACTED}\n`);
  assert.equal(JSON.parse((await run(["redact", "--jsonl"], `{"text":"ghp_0123456789abcdefghijABCDEFGHIJ0123456789"}\n`)).out).text, REDACTED);
});
