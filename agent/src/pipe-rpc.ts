// Requests both ways over one pair of pipes, one JSON object a line: how the instance agent (root, holds
// the control plane's token, supervises the sandbox) and its file worker (the instance's agent user, in
// a sandbox of its own) talk. `{t:"req", id, m, p}` is answered by `{t:"res", id, ok, v | e}`.
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

export type Handler = (params: any) => Promise<unknown> | unknown;

export class PipeRpc {
  private next = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private closed: Error | null = null;

  constructor(
    input: Readable,
    private readonly output: Writable,
    private readonly handlers: Record<string, Handler>,
  ) {
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (line) => void this.onLine(line));
    lines.on("close", () => this.close(new Error("the other side of the pipe went away")));
  }

  call<T = any>(m: string, p: unknown = {}, timeoutMs = 600_000): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${m}: no answer in ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.output.write(`${JSON.stringify({ t: "req", id, m, p })}\n`);
    });
  }

  close(e: Error) {
    this.closed ??= e;
    for (const p of this.pending.values()) p.reject(this.closed);
    this.pending.clear();
  }

  private async onLine(line: string) {
    let f: { t?: string; id?: number; m?: string; p?: unknown; ok?: boolean; v?: unknown; e?: string };
    try {
      f = JSON.parse(line);
    } catch {
      return;
    }
    if (f.t === "res" && typeof f.id === "number") {
      const p = this.pending.get(f.id);
      if (!p) return;
      this.pending.delete(f.id);
      if (f.ok) p.resolve(f.v);
      else p.reject(new Error(String(f.e ?? "failed")));
      return;
    }
    if (f.t !== "req" || typeof f.id !== "number" || typeof f.m !== "string") return;
    const h = Object.hasOwn(this.handlers, f.m) ? this.handlers[f.m] : undefined;
    let res: { t: "res"; id: number; ok: boolean; v?: unknown; e?: string };
    try {
      if (!h) throw new Error(`unknown request "${f.m}"`);
      res = { t: "res", id: f.id, ok: true, v: (await h(f.p)) ?? null };
    } catch (e) {
      res = { t: "res", id: f.id, ok: false, e: (e as Error).message };
    }
    if (!this.output.writableEnded) this.output.write(`${JSON.stringify(res)}\n`);
  }
}
