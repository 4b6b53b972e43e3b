// The flags `npm run bench -- …` takes, checked once at start: which sections run and the sizes they run at.
import { parseArgs } from "node:util";

/** The flags `npm run bench -- …` takes; any other is refused, not ignored. */
const FLAGS = {
  profile: { type: "boolean" },
  keep: { type: "boolean" },
  check: { type: "boolean" },
  only: { type: "string" },
  "connectors-only": { type: "boolean" },
  "postgres-only": { type: "boolean" },
  "connector-iterations": { type: "string" },
  "pg-expiring": { type: "string" },
  "pg-window": { type: "string" },
  "memory-credentials": { type: "string" },
} as const;

/** The sections `--only` takes, in the order the full run runs them. */
export const ONLY_SECTIONS = [
  "abuse",
  "agent",
  "broker",
  "connectors",
  "jwt",
  "mcp",
  "memory",
  "policy",
  "postgres",
] as const;
export type Section = (typeof ONLY_SECTIONS)[number];

export interface BenchOptions {
  /** `--profile`: a CPU profile of the broker child during the HTTP scenario. */
  readonly profile: boolean;
  /** `--keep`: the scratch directory (and any profile) stays after the run. */
  readonly keep: boolean;
  /**
   * `--check`: after the run, each target in bench/targets.json against what was measured; the exit code is 1 when one
   * that ran was missed (or gave no figure), 0 when all that ran were met. Targets of sections left out are "not run".
   */
  readonly check: boolean;
  /**
   * The sections asked for alone: `--only abuse` (a workload's requests with and without a flood of bad keys, and the
   * audit events the flood left), `--only agent` (`ephemera agent`: rotation gap under a live app, idle cost of 10
   * credentials), `--only broker` (the broker scenarios 1–4: HTTP issue, floor, expiry, restart), `--connectors-only`
   * or `--only connectors` (the per-connector section, without the broker scenarios), `--only jwt` (the workload-JWT
   * verification section), `--only mcp` (the AI-agent path, MCP tool call → credential in the sink, beside the plain
   * HTTP request), `--only memory` (broker RSS and heap from 100,000 active grants to 1,000,000 issued), `--only policy` (the policy decision section), `--postgres-only` or `--only postgres` (the
   * PostgreSQL store at 1,000,000 grants).
   */
  readonly only: Readonly<Record<Section, boolean>>;
  /** With any `--only` (or `--…-only`) just that section runs; without, all of them. */
  readonly anyOnly: boolean;
  /** The PostgreSQL the store scenario uses (a schema of its own, dropped after). */
  readonly storeUrl: string;
  /** `--connector-iterations N`: measured iterations for every connector instead of each one's default. */
  readonly connectorIterations: number | undefined;
  /**
   * `--pg-expiring N` / `--pg-window S`: how many of the 100,000 active grants expire during the PostgreSQL expiry
   * window, and its length in seconds. The default (20,000 in 15 s, ~1,300 per second) is a stress rate; 100,000 grants
   * of 15-minute lifetimes expire at ~110 per second (`--pg-expiring 2000`).
   */
  readonly pgExpiring: number;
  readonly pgWindowMs: number;
  /** `--memory-credentials N`: credentials the memory section issues in all (default 1,000,000; at least 100,000). */
  readonly memoryCredentials: number;
}

function commandLine(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const known = Object.keys(FLAGS)
      .map((f) => `--${f}`)
      .join(", ");
    throw new Error(`${(error as Error).message}\nthe bench takes ${known}`);
  }
}

/** Reads the command line; throws, naming what is accepted, on anything else. */
export function readOptions(argv: readonly string[]): BenchOptions {
  const args = commandLine(argv);
  const onlyFlag = args.only;
  if (onlyFlag !== undefined && !ONLY_SECTIONS.some((o) => o === onlyFlag)) {
    throw new Error(`--only takes ${ONLY_SECTIONS.map((o) => `"${o}"`).join(", ")}, not ${onlyFlag}`);
  }
  const only: Record<Section, boolean> = {
    abuse: onlyFlag === "abuse",
    agent: onlyFlag === "agent",
    broker: onlyFlag === "broker",
    connectors: args["connectors-only"] === true || onlyFlag === "connectors",
    jwt: onlyFlag === "jwt",
    mcp: onlyFlag === "mcp",
    memory: onlyFlag === "memory",
    policy: onlyFlag === "policy",
    postgres: args["postgres-only"] === true || onlyFlag === "postgres",
  };
  if ([only.broker, only.connectors, only.postgres, only.jwt, only.policy, only.agent].filter(Boolean).length > 1) {
    throw new Error("--connectors-only, --postgres-only and --only exclude each other");
  }
  const iterationsFlag = args["connector-iterations"];
  const connectorIterations = iterationsFlag === undefined ? undefined : Number(iterationsFlag);
  if (connectorIterations !== undefined && !(Number.isInteger(connectorIterations) && connectorIterations > 0)) {
    throw new Error(`--connector-iterations takes a positive integer, not ${iterationsFlag}`);
  }
  /** A positive integer option, or `fallback` when absent. */
  const positiveOption = (name: "pg-expiring" | "pg-window" | "memory-credentials", fallback: number): number => {
    const raw = args[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} takes a positive integer, not ${raw}`);
    return value;
  };
  const pgExpiring = positiveOption("pg-expiring", 20_000);
  const pgWindowMs = positiveOption("pg-window", 15) * 1000;
  const memoryCredentials = positiveOption("memory-credentials", 1_000_000);
  if (memoryCredentials < 100_000) {
    throw new Error(`--memory-credentials takes at least 100000 (the first checkpoint), not ${memoryCredentials}`);
  }
  if (pgExpiring > 100_000)
    throw new Error(`--pg-expiring takes at most 100000 (the active grants), not ${pgExpiring}`);
  return Object.freeze({
    profile: args.profile === true,
    keep: args.keep === true,
    check: args.check === true,
    only: Object.freeze(only),
    anyOnly: Object.values(only).some(Boolean),
    storeUrl: process.env.EPHEMERA_BENCH_STORE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    connectorIterations,
    pgExpiring,
    pgWindowMs,
    memoryCredentials,
  });
}

/**
 * Sections only `--only` runs: the memory section issues 1,000,000 credentials through the lifecycle, one core's work
 * for many minutes (34 at the ~500 per second a busy two-core machine gave), longer than the rest of the run.
 */
const ONLY_WHEN_ASKED: readonly Section[] = ["memory"];

/** Whether `section` runs: every section (but those only run when asked) when none is asked for alone, else that one. */
export function runs(options: BenchOptions, section: Section): boolean {
  return options.anyOnly ? options.only[section] : !ONLY_WHEN_ASKED.includes(section);
}
