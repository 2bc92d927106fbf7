// Runs the meter every 5 minutes through pg-boss, on the reconciler's PgBoss (the shared pool).
// Each process's timer asks for a tick every `pollMs`; the queue (policy "exclusive": at most one
// queued or running job) and a per-window throttle (singletonSeconds 300) make that one job per
// window across every control-plane process. The tick itself is exactly-once anyway (meter.ts).
import type { FastifyBaseLogger } from "fastify";
import type PgBoss from "pg-boss";
import type { Database } from "../db/connect.ts";
import { meterTick } from "./meter.ts";
import { type Rates, loadRates } from "./rates.ts";

export const METER_QUEUE = "credits-meter";

export interface MeterServiceOptions {
  database: Database;
  log: FastifyBaseLogger;
  rates?: Rates;
  /** an instance was paused or resumed: reconcile it */
  changed: (instanceId: string) => Promise<void>;
  /** how often each process asks for this window's tick (default 20 s) */
  pollMs?: number;
}

export class MeterService {
  private timer: NodeJS.Timeout | null = null;
  private boss: PgBoss | null = null;

  constructor(private o: MeterServiceOptions) {}

  async start(boss: PgBoss) {
    const pool = this.o.database.pool;
    await boss.createQueue(METER_QUEUE, { policy: "exclusive", retryLimit: 3, retryDelay: 5, expireInSeconds: 120 });
    if (this.o.database.kind === "pglite")
      // One process on the embedded database: a job left active was killed with it (it committed nothing).
      await pool.query(
        `UPDATE pgboss.job SET state = 'failed', completed_on = now(), output = '{"message":"the control plane restarted during this tick"}'::jsonb
          WHERE name = $1 AND state = 'active'`,
        [METER_QUEUE],
      );
    await boss.work(METER_QUEUE, { pollingIntervalSeconds: 2, batchSize: 1 }, async () => {
      await this.runOnce();
    });
    this.boss = boss;
    await this.request();
    this.timer = setInterval(() => void this.request(), this.o.pollMs ?? 20_000);
  }

  /** One tick now (what the job runs), then the reconciler hears about every paused or resumed instance. */
  async runOnce(now = new Date()) {
    const r = await meterTick(this.o.database.pool, { now, rates: this.o.rates ?? loadRates() });
    if (r.computeRows || r.modelRows || r.paused.length || r.resumed.length)
      this.o.log.info(
        {
          instances: r.instances,
          computeRows: r.computeRows,
          modelRows: r.modelRows,
          credits: r.chargedMilli / 1000,
          paused: r.paused.length,
          resumed: r.resumed.length,
        },
        "credits metered",
      );
    for (const id of [...r.paused, ...r.resumed])
      await this.o.changed(id).catch((err) => this.o.log.warn({ err, instanceId: id }, "could not reconcile"));
    return r;
  }

  private async request() {
    if (!this.boss) return;
    await this.boss
      .send(METER_QUEUE, {}, { singletonKey: "window", singletonSeconds: 300 })
      .catch((err) => this.o.log.warn({ err }, "could not queue the credit meter"));
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.boss = null;
  }
}
