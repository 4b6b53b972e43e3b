// Test runner settings: every test file under src/ and test/, one fork per file so servers and databases never share
// state (`unit` files share a fork's modules, see below). Three projects: `unit` needs no build and no service
// (`npm run test:unit`, the inner loop), `suite` is the rest (real PostgreSQL, MariaDB, Redis, RabbitMQ, the built CLI,
// Chromium), and `load` holds the two process-load tests (the SIGKILL crash test and the three-replica HA test), which
// run broker children at full load and time their expiries: they run after everything else, one at a time, not beside
// each other. `npm test` runs all three.
import { defineConfig } from "vitest/config";

const LOAD_TESTS = ["test/crash.test.ts", "test/ha.test.ts"];

/** Tests that need neither `npm run build` nor a running service (a test here that needs one fails in CI). */
const UNIT_TESTS = [
  "src/{domain,policy,agent,client,cli,support,identity,config,http,mcp,notifications,tokens}/**/*.test.ts",
  // Not identities/identity-lifecycle.test.ts: it runs on PostgreSQL too.
  "src/lifecycle/{*,shared/*,approval/*,monitor/*,request/*,verify/*,identities/human-use-flag}.test.ts",
  "src/audit/{verify,export,merkle,checkpoint}.test.ts",
  "src/connectors/deadline.test.ts",
  "src/connectors/{token,x509,support}/**/*.test.ts",
  "src/connectors/http/{settings,template}.test.ts",
  "src/storage/sqlite/*.test.ts",
];

export default defineConfig({
  test: {
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        // Unit files share their fork's module cache (isolate: false): loading fastify, Cedar's wasm, jose and SQLite once
        // per fork instead of once per file halves the project's CPU time. They can: none mocks a module or changes
        // process.env, a test that fakes timers restores them before it ends, and each makes its own store and servers.
        // They use every core (vitest's default leaves one free: a single worker on two cores), so they run first, in a
        // group of their own, since projects run side by side only with the same worker count.
        test: { name: "unit", include: UNIT_TESTS, isolate: false, maxWorkers: "100%", sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: "suite",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...LOAD_TESTS, ...UNIT_TESTS],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: "load", include: LOAD_TESTS, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
