// One run of an async task at a time: callers that arrive while it runs share its result instead of starting another.

export class SingleFlight<T> {
  #running: Promise<T> | null = null;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    this.#running ??= this.task().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }
}
