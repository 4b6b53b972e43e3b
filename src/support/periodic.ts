// A task run on a timer, one pass at a time: a pass asked for while one runs waits for it, and stop waits too.
export class Periodic<T> {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<T> | null = null;

  constructor(
    private readonly pass: () => Promise<T>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Runs a pass every `intervalMs` (after the previous one ends); the timer does not keep the process alive. */
  start(intervalMs: number): void {
    const tick = () => {
      this.#timer = setTimeout(async () => {
        await this.runOnce().catch(this.onError);
        if (this.#timer) tick();
      }, intervalMs);
      this.#timer.unref();
    };
    tick();
  }

  /** One pass now, after any pass already running. */
  async runOnce(): Promise<T> {
    while (this.#running) await this.#running.catch(() => undefined);
    const pass = this.pass();
    this.#running = pass;
    try {
      return await pass;
    } finally {
      this.#running = null;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }
}
