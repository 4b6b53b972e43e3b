// Test runner settings: every test file under src/ and test/, one fork per file so servers and databases never share
// state. The two process-load tests (the SIGKILL crash test and the three-replica HA test) each run broker children
// at full load and time their expiries: they run after everything else, one at a time, not beside each other.
import { defineConfig } from "vitest/config";

const LOAD_TESTS = ["test/crash.test.ts", "test/ha.test.ts"];

export default defineConfig({
  test: {
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: "suite",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: LOAD_TESTS,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "load", include: LOAD_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
