// The flags `npm run bench -- …` takes, checked once at start: which sections run and the sizes they run at.
import { parseArgs } from "node:util";

/** The flags `npm run bench -- …` takes; any other is refused, not ignored. */
const FLAGS = {
  profile: { type: "boolean" },
  keep: { type: "boolean" },
  only: { type: "string" },
  "connectors-only": { type: "boolean" },
  "postgres-only": { type: "boolean" },
  "connector-iterations": { type: "string" },
  "pg-expiring": { type: "string" },
  "pg-window": { type: "string" },
} as const;

const ONLY_SECTIONS = ["abuse", "agent", "broker", "connectors", "jwt", "mcp", "policy", "postgres"] as const;
export type Section = (typeof ONLY_SECTIONS)[number];

export interface BenchOptions {
  /** `--profile`: a CPU profile of the broker child during the HTTP scenario. */
  readonly profile: boolean;
  /** `--keep`: the scratch directory (and any profile) stays after the run. */
  readonly keep: boolean;
  /**
   * The sections asked for alone: `--only abuse` (a workload's requests with and without a flood of bad keys, and the
   * audit events the flood left), `--only agent` (`ephemera agent`: rotation gap under a live app, idle cost of 10
   * credentials), `--only broker` (the broker scenarios 1–4: HTTP issue, floor, expiry, restart), `--connectors-only`
   * or `--only connectors` (the per-connector section, without the broker scenarios), `--only jwt` (the workload-JWT
   * verification section), `--only mcp` (the AI-agent path, MCP tool call → credential in the sink, beside the plain
   * HTTP request), `--only policy` (the policy decision section), `--postgres-only` or `--only postgres` (the
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
  const positiveOption = (name: "pg-expiring" | "pg-window", fallback: number): number => {
    const raw = args[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} takes a positive integer, not ${raw}`);
    return value;
  };
  const pgExpiring = positiveOption("pg-expiring", 20_000);
  const pgWindowMs = positiveOption("pg-window", 15) * 1000;
  if (pgExpiring > 100_000)
    throw new Error(`--pg-expiring takes at most 100000 (the active grants), not ${pgExpiring}`);
  return Object.freeze({
    profile: args.profile === true,
    keep: args.keep === true,
    only: Object.freeze(only),
    anyOnly: Object.values(only).some(Boolean),
    storeUrl: process.env.EPHEMERA_BENCH_STORE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    connectorIterations,
    pgExpiring,
    pgWindowMs,
  });
}

/** Whether `section` runs: every section when none is asked for alone, else just the one asked for. */
export function runs(options: BenchOptions, section: Section): boolean {
  return !options.anyOnly || options.only[section];
}
