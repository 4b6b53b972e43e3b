// `npm run bench`: runs the sections the flags choose (all by default) in one order, then prints one table, the
// notes and warnings under it, and a `bench: {…}` JSON line for machines.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { brokerSections } from "./broker-sections.js";
import { checkTargets, exitCodeOf, formatOutcomes, readTargets } from "./check.js";
import { REPO_ROOT } from "./library.js";
import { readOptions, runs } from "./options.js";
import { log, printTable, rows, warnings } from "./report.js";
import {
  abuseSection,
  agentSection,
  connectorsSection,
  jwtSection,
  mcpSection,
  memorySection,
  policySection,
  postgresSection,
} from "./sections.js";
import { round } from "./stats.js";

const options = readOptions(process.argv.slice(2));
const { only } = options;
// Read before anything runs, so a malformed file stops the run at once rather than after it.
const targets = options.check ? readTargets(join(REPO_ROOT, "bench", "targets.json")) : [];

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const root = mkdtempSync(join(tmpdir(), "ephemera-bench-"));
  try {
    const broker = runs(options, "broker") ? await brokerSections(root, options) : { json: {}, after: [] };
    const jwt = runs(options, "jwt") ? await jwtSection(options) : [];
    const policy = runs(options, "policy") ? await policySection(options) : {};
    const mcp = runs(options, "mcp") ? await mcpSection(root, options) : {};
    const abuse = runs(options, "abuse") ? await abuseSection(root, options) : {};
    const agent = runs(options, "agent") ? await agentSection(root, options) : {};
    const connectors = runs(options, "connectors") ? await connectorsSection(options) : { notes: [], json: {} };
    const postgres = runs(options, "postgres") ? await postgresSection(root, options) : null;
    const memory = runs(options, "memory") ? await memorySection(root, options) : null;

    const loadEnd = loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    process.stdout.write(
      `\nEphemera bench${only.connectors ? " (connectors only)" : only.postgres ? " (PostgreSQL store only)" : only.jwt ? " (workload JWT only)" : only.mcp ? " (MCP only)" : only.agent ? " (agent only)" : only.abuse ? " (abuse only)" : only.memory ? " (memory only)" : ""}: node ${process.version}, ${cpus().length} CPUs, ${round(totalmem() / 2 ** 30)} GiB, load average at start ${loadStart}, at end ${loadEnd}, ${round((Date.now() - started) / 1000)} s\n\n`,
    );
    printTable();
    if (connectors.notes.length > 0) {
      process.stdout.write(`\nraw baselines (one admin connection, no proof of removal):\n`);
      for (const n of connectors.notes) process.stdout.write(`  ${n}\n`);
    }
    for (const a of broker.after) process.stdout.write(`\n${a}\n`);
    for (const w of warnings) process.stdout.write(`\nwarning: ${w}\n`);

    const machine = {
      node: process.version,
      cpus: cpus().length,
      ...broker.json,
      workloadJwt: jwt,
      policy,
      mcp,
      abuse,
      ...agent,
      connectors: connectors.json,
      ...(postgres === null ? {} : { postgres }),
      ...(memory === null ? {} : { memory }),
      targetsMet: Object.fromEntries(
        rows.filter((r) => r.met !== null).map((r) => [`${r.scenario}: ${r.metric}`, r.met]),
      ),
      loadAverageAtStart: loadStart,
      loadAverageAtEnd: loadEnd,
      warnings,
      totalSeconds: round((Date.now() - started) / 1000),
    };
    process.stdout.write(`\nbench: ${JSON.stringify(machine)}\n`);
    if (options.check) {
      const outcomes = checkTargets(targets, machine, (section) => runs(options, section));
      process.stdout.write(`\ntargets (bench/targets.json):\n${formatOutcomes(outcomes)}\n`);
      process.exitCode = exitCodeOf(outcomes);
    }
  } finally {
    if (options.keep) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}

await main();
