// The scheduled half of key rotation: every hour (and at start) each current key past its owner's
// rotation period is rotated and the new public key pushed to the owner's instances. Safe with any
// number of control-plane processes: rotateKey's conditional UPDATE lets one process win per key;
// the others find nothing to do. A process that dies between the rotation and the push loses
// no key either: the new key is current and downloadable, and the next push (a rotation, an instance
// create) carries it.
import type { FastifyBaseLogger } from "fastify";
import type { Db } from "../db/connect.ts";
import type { KeyEncryptionKey } from "../secrets/envelope.ts";
import { dueKeys, keyTargets, pushAuthorizedKeys, rotateKey } from "./keys.ts";

export const ROTATION_CHECK_MS = 60 * 60_000;

export interface RotationResult {
  ownerId: string;
  retired: string;
  current: string;
  instanceIds: string[];
}

/** Rotates every due key once; returns what this process rotated (and queued the pushes for). */
export async function rotateDueKeys(db: Db, kek: KeyEncryptionKey, at = new Date()): Promise<RotationResult[]> {
  const out: RotationResult[] = [];
  for (const due of await dueKeys(db, at)) {
    const fresh = await rotateKey(db, kek, due.ownerId, due.id, "scheduled");
    if (!fresh) continue; // another process rotated it
    const instanceIds = await keyTargets(db, due.ownerId);
    await pushAuthorizedKeys(db, due.ownerId, instanceIds);
    out.push({ ownerId: due.ownerId, retired: due.id, current: fresh.id, instanceIds });
  }
  return out;
}

/** The timer the instance manager runs; `deliver` hands queued commands to connected agents. */
export class SshKeyRotation {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      db: Db;
      kek: KeyEncryptionKey;
      log: FastifyBaseLogger;
      deliver: (instanceId: string) => Promise<void>;
      intervalMs?: number;
    },
  ) {}

  start() {
    if (this.timer) return;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? ROTATION_CHECK_MS);
    this.timer.unref();
  }

  /** One pass (never two at once in this process). */
  check(): Promise<unknown> {
    this.running = this.running.then(async () => {
      try {
        for (const r of await rotateDueKeys(this.o.db, this.o.kek)) {
          this.o.log.info({ ownerId: r.ownerId, keyId: r.current, instances: r.instanceIds.length }, "SSH key rotated (scheduled)");
          for (const id of r.instanceIds) await this.o.deliver(id);
        }
      } catch (err) {
        this.o.log.warn({ err }, "SSH key rotation check failed");
      }
    });
    return this.running;
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
