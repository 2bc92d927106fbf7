// `tropic whatsapp pair|status|unpair INSTANCE` (docs/whatsapp.md): pairing draws each new QR in the
// terminal as the instance's gateway gives it (the API's event stream), until paired or expired.
import { CliError } from "../client.ts";
import { qrDataUrlToText } from "../qr-terminal.ts";
import type { Command } from "./index.ts";
import { resolveInstance } from "./resolve.ts";
import { authed, print } from "./session.ts";

interface Status {
  paired: boolean;
  number: string | null;
  loaded: boolean;
  dmPolicy: string | null;
  allowFrom: string[];
  phoneRules: { enforcedByOpenClaw: boolean; dmPolicy: string; allowFrom: string[]; notes: string[] };
}

export function statusText(name: string, s: Status): string {
  const lines = [s.paired ? `WhatsApp on ${name}: paired${s.number ? ` with ${s.number}` : ""}` : `WhatsApp on ${name}: not paired`];
  lines.push(
    s.phoneRules.enforcedByOpenClaw
      ? `Phone rules: enforced by the gate and by OpenClaw (dmPolicy allowlist, allowFrom ${s.phoneRules.allowFrom.join(", ")})`
      : "Phone rules: enforced by the gate (OpenClaw keeps dmPolicy pairing)",
  );
  for (const n of s.phoneRules.notes) lines.push(`  ${n}`);
  return lines.join("\n");
}

const CLEAR = "\x1b[H\x1b[2J";

export const whatsappCommands: Record<string, Command> = {
  whatsapp: {
    summary: "pair WhatsApp with an instance (a QR in the terminal), show whether it is paired, unpair it",
    fields: { id: { next: "tropic instances ls" } },
    verbs: {
      pair: {
        usage: "INSTANCE",
        args: ["INSTANCE"],
        summary: "enable WhatsApp on a running instance and show its pairing QR here as it changes; scan it in WhatsApp → Linked devices",
        fields: { id: { next: "tropic instances ls" } },
        async run(c) {
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const name = String(inst.name);
          const tty = process.stdout.isTTY === true && !c.json;
          let last: Record<string, unknown> | null = null;
          for await (const e of api.events(`/api/v1/instances/${inst.id}/whatsapp/pair`)) {
            last = e;
            if (c.json) {
              c.out(JSON.stringify(e));
              continue;
            }
            if (e.type === "status") c.out(String(e.message));
            else if (e.type === "qr") {
              let art: string;
              try {
                art = qrDataUrlToText(String(e.qrDataUrl));
              } catch (err) {
                art = `(the QR could not be drawn here: ${(err as Error).message}; use the dashboard)`;
              }
              c.out(
                `${tty ? CLEAR : "\n"}Scan in WhatsApp → Settings → Linked devices → Link a device (QR ${e.n}; it changes every few seconds):\n\n${art}\n`,
              );
            } else if (e.type === "paired") c.out(`Paired WhatsApp with ${name}${e.number ? `: ${e.number}` : ""}.`);
            else if (e.type === "expired") c.out(`Expired: ${e.message} Run \`${c.path} ${c.args[0]}\` again.`);
            else if (e.type === "error") c.out(`Failed: ${e.message}`);
          }
          if (last?.type === "paired") return 0;
          if (!last) throw new CliError("the server ended the pairing without a word; try again");
          return 1;
        },
      },
      status: {
        usage: "INSTANCE",
        args: ["INSTANCE"],
        summary: "whether WhatsApp is paired on the instance and the linked number (read from its gateway), and how the phone rules apply",
        async run(c) {
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const s = await api.get<Status>(`/api/v1/instances/${inst.id}/whatsapp`);
          print(c, s, () => statusText(String(inst.name), s));
          return 0;
        },
      },
      unpair: {
        usage: "INSTANCE",
        args: ["INSTANCE"],
        summary: "log the instance's WhatsApp session out (pair again to link a phone)",
        async run(c) {
          const api = authed(c);
          const inst = await resolveInstance(api, c.args[0]!);
          const r = await api.del<{ paired: boolean; cleared: boolean }>(`/api/v1/instances/${inst.id}/whatsapp`);
          print(c, r, () => (r.cleared ? `Unpaired WhatsApp on ${inst.name}.` : `WhatsApp was not paired on ${inst.name}.`));
          return 0;
        },
      },
    },
  },
};
