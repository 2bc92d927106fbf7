import { chmodSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { CliError } from "../client.ts";
import { keyValues } from "../output.ts";
import type { Command, Context } from "./index.ts";
import { authed } from "./session.ts";

type KeyInfo = { id: string; publicKey: string; fingerprint: string; createdAt: string; rotationDays: number; nextRotationAt: string };

export const DEFAULT_KEY_FILE = "tropic-vm-key.pem";

function print(ctx: Context, data: unknown, human: () => string) {
  ctx.out(ctx.json ? JSON.stringify(data) : human());
}

/** The seed's command, for the downloaded file. */
export const sshCommand = (file: string) => `ssh -i ${file} ubuntu@your-vm-ip`;

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

export const sshCommands: Record<string, Command> = {
  "ssh-key": {
    options: { out: { type: "string", short: "o" } },
    async run(ctx) {
      const verb = ctx.args[0];
      const api = authed(ctx);
      const human = (k: KeyInfo) =>
        keyValues({
          publicKey: k.publicKey,
          fingerprint: k.fingerprint,
          createdAt: k.createdAt,
          rotationDays: k.rotationDays,
          nextRotation: k.nextRotationAt,
        });
      if (verb === "show") {
        const k = await api.get<KeyInfo>("/api/v1/ssh-key");
        print(ctx, k, () => human(k));
        return 0;
      }
      if (verb === "download") {
        const path = resolve(String(ctx.flags.out ?? DEFAULT_KEY_FILE));
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
        writeKeyFile(path, pem!);
        const data = { path, fingerprint: k!.fingerprint, nextRotationAt: k!.nextRotationAt, ssh: sshCommand(path) };
        print(
          ctx,
          data,
          () => `Saved the private key to ${path} (0600), ${k!.fingerprint}; it rotates on ${k!.nextRotationAt}.\n` + `Connect with:\n  ${data.ssh}`,
        );
        return 0;
      }
      if (verb === "rotate") {
        const k = await api.post<KeyInfo & { pushedTo: number }>("/api/v1/ssh-key/rotate");
        print(
          ctx,
          k,
          () =>
            `${human(k)}\n\nThe old key stops working on each instance once it has the new one (${k.pushedTo} queued; stopped ones get it when they start).\n` +
            "Download the new private key: tropic ssh-key download",
        );
        return 0;
      }
      throw new CliError("usage: tropic ssh-key show|download [--out FILE]|rotate", 2);
    },
  },
};
