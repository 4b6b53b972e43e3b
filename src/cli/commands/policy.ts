// `ephemera policy test FILE` (run a file of policy cases offline, for CI) and `ephemera policy schema` (print the
// Cedar schema the broker validates policies against).
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { EXIT, UsageError } from "../exit-codes.js";

export function registerPolicy(program: Command, cli: Cli): void {
  const policy = program.command("policy").description("work with Cedar policies offline");

  policy
    .command("test")
    .description("run a file of policy cases; exits 1 when any case does not give what it expects")
    .argument("<file>", "YAML case file (see docs/writing-policies.md)")
    .option("--config <file>", "broker config for identities, entitlements and the policy folder")
    .option("--policies <dir>", "policy folder (overrides the config's)")
    .option("--json", "print the report as JSON")
    .action(async (file: string, options: { config?: string; policies?: string; json?: boolean }) => {
      const { PolicyLoadError } = await import("../../policy/cedar/policy-set.js");
      const { PolicyTestError, runPolicyTests } = await import("../../policy/policy-test.js");
      let report: ReturnType<typeof runPolicyTests>;
      try {
        report = runPolicyTests(file, {
          ...(options.config === undefined ? {} : { config: options.config }),
          ...(options.policies === undefined ? {} : { policies: options.policies }),
        });
      } catch (error) {
        if (error instanceof PolicyTestError || error instanceof PolicyLoadError) throw new UsageError(error.message);
        throw error;
      }
      if (options.json) cli.json(report);
      else {
        for (const r of report.results) {
          cli.print(`${r.passed ? "ok  " : "FAIL"} ${r.name}`);
          for (const m of r.mismatches) cli.print(`       ${m}`);
        }
        cli.print(`policy set ${report.policyVersion} (${report.policyDir})`);
        cli.print(`${report.passed} passed, ${report.failed} failed`);
      }
      cli.exitCode = report.failed === 0 ? EXIT.ok : EXIT.error;
    });

  policy
    .command("schema")
    .description("print the Cedar schema policies are validated against (keep a copy beside your policies)")
    .action(async () => {
      const { CEDAR_SCHEMA } = await import("../../policy/cedar/schema.js");
      cli.print(CEDAR_SCHEMA);
    });
}
