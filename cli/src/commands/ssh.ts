import { chmodSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { CliError } from "../client.ts";
import { keyValues } from "../output.ts";
import type { Command } from "./index.ts";
import { listAll, type Row, shellArg } from "./resolve.ts";
import { authed, print, serverUrl } from "./session.ts";

type KeyInfo = { id: string; publicKey: string; fingerprint: string; createdAt: string; rotationDays: number; nextRotationAt: string };

export const DEFAULT_KEY_FILE = "tropic-vm-key.pem";

/** Where a cloud VM is reached, if its provider reported it. */
function vmAddress(i: Row): string | undefined {
  const a = (i.addresses ?? {}) as Record<string, unknown>;
  const v = a.public ?? a.publicIp ?? a.ip ?? a.host;
  return typeof v === "string" && v ? v.replace(/^[a-z]+:\/\//, "").replace(/[:/].*$/, "") : undefined;
}

/** The SSH command for one of the user's machines: the seed's `ubuntu@` on cloud VMs. */
export function sshCommand(file: string, i: Row): string {
  const user = i.provider === "aws" ? "ubuntu" : "<user>";
  return `ssh -i ${shellArg(file)} ${user}@${vmAddress(i) ?? `<${i.name}'s IP>`}`;
}

/** Writes the key owner-only (0600) from the first byte: a temp file created exclusively, then renamed over FILE. */
function writeKeyFile(path: string, pem: string) {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  try {
    writeFileSync(tmp, pem, { mode: 0o600, flag: "wx" });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

const human = (k: KeyInfo) =>
  keyValues({
    publicKey: k.publicKey,
    fingerprint: k.fingerprint,
    createdAt: k.createdAt,
    rotationDays: k.rotationDays,
    nextRotation: k.nextRotationAt,
  });

export const sshCommands: Record<string, Command> = {
  "ssh-key": {
    verbs: {
      show: {
        summary: "your SSH public key, fingerprint and next rotation",
        async run(c) {
          const k = await authed(c).get<KeyInfo>("/api/v1/ssh-key");
          print(c, k, () => human(k));
          return 0;
        },
      },
      download: {
        usage: "[--out FILE]",
        summary: "save your private key (tropic-vm-key.pem, 0600) and say how to use it",
        options: { out: { type: "string", short: "o", value: "FILE", help: `where to write it (default ${DEFAULT_KEY_FILE})` } },
        async run(c) {
          const api = authed(c);
          const path = resolve(String(c.flags.out ?? DEFAULT_KEY_FILE));
          // The private key of the key just shown (if it rotates in between, the new one, once more).
          let pem: string | undefined;
          let k: KeyInfo | undefined;
          for (let attempt = 0; attempt < 2 && pem === undefined; attempt++) {
            k = await api.get<KeyInfo>("/api/v1/ssh-key");
            pem = await api.download(`/api/v1/ssh-key/private?keyId=${k.id}`).catch((err) => {
              if (attempt === 1) throw err;
              return undefined;
            });
          }
          const instances = await listAll(api, "/api/v1/instances");
          writeKeyFile(path, pem!);
          // Local instances are sandboxed processes on the Tropic host: no VM, no SSH login; the proxy is the way in.
          const base = serverUrl(c).replace(/\/+$/, "");
          const vms = instances.filter((i) => i.provider !== "local");
          const local = instances.filter((i) => i.provider === "local");
          const data = {
            path,
            fingerprint: k!.fingerprint,
            nextRotationAt: k!.nextRotationAt,
            ssh: vms.map((i) => ({ instance: i.name, command: sshCommand(path, i) })),
            local: local.map((i) => ({ instance: i.name, url: `${base}/i/${i.id}/` })),
          };
          print(c, data, () => {
            const lines = [`Saved the private key to ${path} (0600), ${k!.fingerprint}; it rotates on ${k!.nextRotationAt}.`];
            if (data.ssh.length) lines.push("Connect with:", ...data.ssh.map((s) => `  ${s.command}    # ${s.instance}`));
            if (local.length) {
              const them = local.length === 1 ? "it" : "them";
              lines.push(
                local.length === 1
                  ? `Your instance ${local[0]!.name} runs on the Tropic server as a sandboxed process, not a VM: there is no SSH login to it.`
                  : `Your instances ${local.map((i) => i.name).join(", ")} run on the Tropic server as sandboxed processes, not VMs: there is no SSH login to them.`,
                `Open ${them} in the dashboard (${base}/chat) or at:`,
                ...data.local.map((l) => `  ${l.url}    # ${l.instance}`),
              );
            }
            if (!data.ssh.length)
              lines.push(
                `The key is for cloud VMs (ssh -i ${shellArg(path)} ubuntu@<the VM's IP>)${instances.length ? "" : "; you have no instances yet (tropic instances create NAME)"}.`,
              );
            return lines.join("\n");
          });
          return 0;
        },
      },
      rotate: {
        summary: "a new key now; the old one stops working on each instance once it has the new one",
        async run(c) {
          const k = await authed(c).post<KeyInfo & { pushedTo: number }>("/api/v1/ssh-key/rotate");
          print(
            c,
            k,
            () =>
              `${human(k)}\n\nThe old key stops working on each instance once it has the new one (${k.pushedTo} queued; stopped ones get it when they start).\n` +
              "Download the new private key: tropic ssh-key download",
          );
          return 0;
        },
      },
    },
  },
};
