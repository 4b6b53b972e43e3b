import { describe, expect, it } from "vitest";
import { sleep } from "./sleep.js";

describe("sleep", () => {
  it("ends at once when its signal aborts, or has already aborted", async () => {
    const started = Date.now();
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort();
    await waiting;
    await sleep(60_000, AbortSignal.abort());
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
