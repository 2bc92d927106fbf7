// A MOCK of Anthropic's Messages API (what cannot exist here: Anthropic's servers), for the model
// proxy's tests: the unit tests (model-proxy.test.ts) and the end-to-end one (model-proxy.e2e.test.ts).
import type { IncomingHttpHeaders, Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export const MOCK_MODEL = "claude-sonnet-4-6";

// ---------------------------------------------------------------------------------------------
// The MOCK upstream. Body fields steer it: stream (SSE or JSON), chunks (text deltas), delayMs between
// them, gate (wait after the first delta until the test releases it), hang (never finish), status.

export interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** when the mock wrote each content_block_delta, and when it ended */
  deltasAt: number[];
  endedAt?: number;
  /** the proxy gave up on this request (client gone) before the mock finished */
  aborted: boolean;
}

export class MockAnthropic {
  server!: Server;
  url = "";
  seen: Seen[] = [];
  private gates: (() => void)[] = [];

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void this.answer(req.url ?? "", req.headers, Buffer.concat(chunks).toString("utf8"), res));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Lets every gated stream go on past its first delta. */
  release() {
    for (const g of this.gates.splice(0)) g();
  }

  private async answer(path: string, headers: IncomingHttpHeaders, body: string, res: import("node:http").ServerResponse) {
    const s: Seen = { path, headers, body, deltasAt: [], aborted: false };
    this.seen.push(s);
    res.on("close", () => {
      if (!res.writableFinished) s.aborted = true;
    });
    let p: { stream?: boolean; chunks?: number; delayMs?: number; gate?: boolean; hang?: boolean; status?: number; model?: string; big?: number };
    try {
      p = JSON.parse(body);
    } catch {
      p = {};
    }
    if (p.status && p.status !== 200) {
      res.writeHead(p.status, { "content-type": "application/json", "request-id": "req_mock", "anthropic-ratelimit-requests-limit": "4000" });
      res.end(JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }));
      return;
    }
    if (path.startsWith("/v1/messages/count_tokens")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ input_tokens: 42 }));
      return;
    }
    const n = p.chunks ?? 5;
    const model = p.model ?? MOCK_MODEL;
    if (!p.stream) {
      res.writeHead(200, { "content-type": "application/json", "request-id": "req_mock", "anthropic-ratelimit-tokens-limit": "400000" });
      res.end(
        JSON.stringify({
          id: "msg_mock",
          type: "message",
          role: "assistant",
          model,
          content: [{ type: "text", text: "Hello from the MOCK".padEnd(p.big ?? 0, ".") }],
          stop_reason: "end_turn",
          usage: { input_tokens: 11, output_tokens: 7 },
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": "req_mock" });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    send("message_start", {
      type: "message_start",
      message: { id: "msg_mock", type: "message", role: "assistant", model, content: [], usage: { input_tokens: 25, output_tokens: 1 } },
    });
    send("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    send("ping", { type: "ping" });
    for (let i = 0; i < n; i++) {
      if (s.aborted) return;
      send("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: `tok${i} ` } });
      s.deltasAt.push(Date.now());
      if (i === 0 && p.gate) await Promise.race([new Promise<void>((r) => this.gates.push(r)), sleep(5000)]);
      if (p.hang && i === 1) return; // keeps the stream open until the proxy goes away
      await sleep(p.delayMs ?? 5);
    }
    send("content_block_stop", { type: "content_block_stop", index: 0 });
    send("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: n * 3 } });
    send("message_stop", { type: "message_stop" });
    s.endedAt = Date.now();
    res.end();
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
