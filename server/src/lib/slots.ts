// At most n tasks at once; the rest wait their turn in order. The agent hub runs agents' handshakes
// through a few slots so that thousands of agents reconnecting at once (a node died) cannot take every
// database connection of the pool: API requests keep theirs (docs/scaling.md).
export class Slots {
  private free: number;
  private waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await task();
    } finally {
      // the slot passes straight to the next in line, or is freed
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  /** tasks waiting for a slot now */
  get queued(): number {
    return this.waiting.length;
  }
}
