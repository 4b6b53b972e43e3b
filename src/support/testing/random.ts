// Seeded randomness for chaos and property tests: one seed per run, taken from EPHEMERA_TEST_SEED or drawn fresh, and
// printed when a test fails, so the same random choices can be made again.
import { randomInt } from "node:crypto";
import { beforeEach } from "vitest";

/** EPHEMERA_TEST_SEED when set (a replay), otherwise null. */
function seedFromEnv(): number | null {
  const text = process.env.EPHEMERA_TEST_SEED;
  if (text === undefined || text === "") return null;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed))
    throw new Error(`EPHEMERA_TEST_SEED must be an integer, not ${JSON.stringify(text)}`);
  return seed;
}

/** This process's fresh seed, drawn once so every file of a run can be replayed with the one number. */
const FRESH_SEED = randomInt(2 ** 31);

/**
 * The seed for the calling test file's random scenarios: EPHEMERA_TEST_SEED, else `pinned` when given, else fresh.
 * A file pins a seed when its checks need the random steps to reach given states (not luck, but a fact of the run).
 * Call it at the top level of the file: it registers a hook that prints the seed for every failed test there.
 */
export function replayableSeed(pinned?: number): number {
  const seed = seedFromEnv() ?? pinned ?? FRESH_SEED;
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      console.error(`random scenario: replay with EPHEMERA_TEST_SEED=${seed}`);
    });
  });
  return seed;
}

/** A deterministic source of scenario choices: the same seed gives the same sequence. */
export interface SeededRandom {
  /** A number in [0, 1), as Math.random gives. */
  next(): number;
  /** An integer from `min` to `max`, both included. */
  int(min: number, max: number): number;
  /** A copy of `items` in random order. */
  shuffle<T>(items: readonly T[]): T[];
}

/** Mulberry32: small, fast and good enough to drive test scenarios (not for secrets). */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    shuffle: <T>(items: readonly T[]): T[] => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(0, i);
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy;
    },
  };
}
