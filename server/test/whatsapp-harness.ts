// WhatsApp tests' shared pieces: the MOCK stand-in plugin's directory and a reader of the pairing stream.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Api } from "./instances-harness.ts";

export const STANDIN = join(dirname(fileURLToPath(import.meta.url)), "whatsapp-standin");

/** POSTs and reads the SSE stream to its end: the events in order. */
export async function pairEvents(api: Api, id: string, onEvent?: (e: any) => void): Promise<any[]> {
  const r = await fetch(`${api.url}/api/v1/instances/${id}/whatsapp/pair`, { method: "POST", headers: api.auth });
  assert.equal(r.status, 200, await r.clone().text());
  assert.match(String(r.headers.get("content-type")), /text\/event-stream/);
  const events: any[] = [];
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split("\n").find((l) => l.startsWith("data: "));
      if (!data) continue;
      const e = JSON.parse(data.slice(6));
      events.push(e);
      onEvent?.(e);
    }
  }
  return events;
}
