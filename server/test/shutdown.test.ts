// Every WebSocket upgrade gets an answer, and `tropic serve` exits within seconds of SIGTERM with
// upgrades that were never answered, never completed, or are half open (a real subprocess).
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { freePort } from "@tropic/providers";
import { freshDataDir, removeDir, serveProcess, sleep } from "./instances-harness.ts";

/** Sends `text` on a new connection; resolves with what came back before `ms` (or the connection closed). */
function exchange(port: number, text: string, ms: number): Promise<{ got: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    let closed = false;
    socket.on("data", (d) => {
      got += d;
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      resolve({ got, closed, socket });
    });
    socket.on("connect", () => socket.write(text));
    setTimeout(() => resolve({ got, closed, socket }), ms);
  });
}

const upgrade = (path: string, extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

test("upgrades to paths nobody serves get a 404; tropic serve exits within seconds of SIGTERM with 150 upgrades open", {
  timeout: 120_000,
}, async (t) => {
  const dataDir = freshDataDir();
  const port = await freePort();
  const serve = await serveProcess(dataDir, port, { instances: false });
  const proc = serve.proc;
  t.after(() => {
    proc.kill("SIGKILL");
    removeDir(dataDir);
  });

  // 50 upgrades to a path nobody serves: each answered 404 and closed, at once.
  const unknown = await Promise.all(Array.from({ length: 50 }, (_, i) => exchange(port, upgrade(`/nowhere/${i}`), 3000)));
  for (const r of unknown) {
    assert.match(r.got, /^HTTP\/1\.1 404 /, r.got);
    assert.ok(r.closed, "the connection is closed after the answer");
  }
  // The agent channel without a token and the proxy without a session answer too (401).
  assert.match((await exchange(port, upgrade("/api/v1/agent/connect"), 3000)).got, /^HTTP\/1\.1 401 /);
  assert.match((await exchange(port, upgrade(`/i/${crypto.randomUUID()}/`), 3000)).got, /^HTTP\/1\.1 401 /);

  // Then 150 left open: unanswered-then-answered ones kept open by the client, upgrades whose
  // headers never complete, and raw half-open connections; SIGTERM must still end the server.
  const held: Socket[] = [];
  for (let i = 0; i < 50; i++) held.push((await exchange(port, upgrade(`/nowhere/held-${i}`), 0)).socket);
  for (let i = 0; i < 50; i++) held.push((await exchange(port, "GET /i/x/ HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", 0)).socket);
  for (let i = 0; i < 50; i++) held.push((await exchange(port, "", 0)).socket);
  await sleep(500);
  const t1 = Date.now();
  proc.kill("SIGTERM");
  await Promise.race([new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once("exit", () => r()))), sleep(15_000)]);
  const took = Date.now() - t1;
  t.diagnostic(`exited ${took} ms after SIGTERM with 150 connections open`);
  for (const s of held) s.destroy();
  assert.ok(took < 5000, `tropic serve took ${took} ms to exit:\n${serve.output().slice(-2000)}`);
});
