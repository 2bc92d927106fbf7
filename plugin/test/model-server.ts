// A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (the only mocked piece of the
// end-to-end tests). Each turn's user message carries a marker `SCENARIO:<name>`; the script for that
// name lists the tool calls to make, one per model request, then a final text. The server finds tool
// results anywhere in the history (OpenClaw appends internal context after them), so it never loops.
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedCall {
  name: string;
  arguments: Record<string, unknown>;
}
export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_call_id?: string;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
}
export interface RecordedRequest {
  scenario: string | null;
  messages: ChatMessage[];
  body: Record<string, unknown>;
  /** when the request arrived and when its response was fully sent (performance.now() ms) */
  at: number;
  doneAt: number;
  /** when the client went away before the response ended (an aborted run), else 0 */
  abandonedAt: number;
}

export const textOf = (c: unknown): string =>
  typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => (typeof p === "string" ? p : (p?.text ?? ""))).join("") : "";

export class ScriptedModel {
  readonly requests: RecordedRequest[] = [];
  private scripts = new Map<string, ScriptedCall[]>();
  private stalls = new Set<string>();
  private server: Server | null = null;
  port = 0;
  constructor(private fixedPort = 0) {}

  script(name: string, calls: ScriptedCall[]) {
    this.scripts.set(name, calls);
  }

  /**
   * A long run: this scenario's answer streams a word a second and never finishes (bounded to 10
   * minutes) until the client goes away, which `abandonedAt` records.
   */
  stall(name: string) {
    this.stalls.add(name);
  }

  /** Requests of a scenario (in order). */
  of(scenario: string) {
    return this.requests.filter((r) => r.scenario === scenario);
  }

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (c) => (raw += c));
      const arrived = performance.now();
      req.on("end", () => {
        if (req.method === "GET") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ object: "list", data: [{ id: "scripted", object: "model" }] }));
          return;
        }
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(raw || "{}");
        } catch {}
        const messages = (body.messages as ChatMessage[]) ?? [];
        const { scenario, at: from } = findScenario(messages);
        const rec: RecordedRequest = { scenario, messages, body, at: arrived, doneAt: 0, abandonedAt: 0 };
        this.requests.push(rec);
        res.once("finish", () => {
          rec.doneAt = performance.now();
        });
        res.once("close", () => {
          if (!res.writableFinished) rec.abandonedAt = performance.now();
        });
        if (scenario && this.stalls.has(scenario)) return stallStream(res, body.model as string);
        const calls = (scenario && this.scripts.get(scenario)) || [];
        // How many tool results came back since the scenario's user message (anywhere after it:
        // OpenClaw appends internal context after them, and rewrites tool-call ids)?
        const step = messages.slice(from + 1).filter((m) => m.role === "tool").length;
        const reply =
          step < calls.length
            ? { tool: { id: callId(scenario ?? "x", step), name: calls[step].name, args: JSON.stringify(calls[step].arguments) } }
            : { text: `Scenario ${scenario ?? "none"} complete.` };
        sse(res, body.model as string, reply, body.stream !== false);
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.fixedPort, "127.0.0.1", r));
    this.port = (this.server!.address() as AddressInfo).port;
    return this.port;
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }
}

export const callId = (scenario: string, i: number) => `call${scenario.replace(/[^a-zA-Z0-9]/g, "")}${i}`;

function findScenario(messages: ChatMessage[]): { scenario: string | null; at: number } {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role !== "user") continue;
    const m = /SCENARIO:([\w-]+)/.exec(textOf(messages[i].content));
    if (m) return { scenario: m[1], at: i };
  }
  return { scenario: null, at: messages.length };
}

function stallStream(res: import("node:http").ServerResponse, model: string) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-${Date.now()}`;
  let n = 0;
  const tick = () => {
    if (res.destroyed || res.writableEnded) return clearInterval(timer);
    if (++n > 600) {
      clearInterval(timer);
      return res.end("data: [DONE]\n\n");
    }
    const delta = n === 1 ? { role: "assistant", content: "working " } : { content: "still working " };
    res.write(
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 0, model, choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`,
    );
  };
  const timer = setInterval(tick, 1000);
  tick();
}

function sse(
  res: import("node:http").ServerResponse,
  model: string,
  reply: { text?: string; tool?: { id: string; name: string; args: string } },
  stream: boolean,
) {
  const id = `chatcmpl-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  if (!stream) {
    const message = reply.tool
      ? {
          role: "assistant",
          content: null,
          tool_calls: [{ id: reply.tool.id, type: "function", function: { name: reply.tool.name, arguments: reply.tool.args } }],
        }
      : { role: "assistant", content: reply.text };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{ index: 0, message, finish_reason: reply.tool ? "tool_calls" : "stop" }],
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
  if (reply.tool) {
    send(
      chunk(
        {
          role: "assistant",
          content: null,
          tool_calls: [{ index: 0, id: reply.tool.id, type: "function", function: { name: reply.tool.name, arguments: "" } }],
        },
        null,
      ),
    );
    send(chunk({ tool_calls: [{ index: 0, function: { arguments: reply.tool.args } }] }, null));
    send(chunk({}, "tool_calls"));
  } else {
    send(chunk({ role: "assistant", content: reply.text }, null));
    send(chunk({}, "stop"));
  }
  send({ ...chunk({}, null), choices: [], usage });
  res.write("data: [DONE]\n\n");
  res.end();
}
