// The Cedar examples in docs/writing-policies.md and the demo policies load and validate: docs that users copy must work.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePolicies, loadPolicyFolder } from "./cedar/policy-set.js";

describe("policy examples", () => {
  it.each(["writing-policies.md", "ai-agents.md"])(
    "every cedar block of docs/%s validates against the schema",
    (name) => {
      const doc = readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");
      const blocks = [...doc.matchAll(/```cedar\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
      expect(blocks.length).toBeGreaterThan(0);
      for (const [i, block] of blocks.entries()) {
        expect(compilePolicies("docs", [[`block-${i}.cedar`, block]]).policies.length).toBeGreaterThan(0);
      }
    },
  );

  it("the demo's policy folder loads, with its schema file equal to the broker's", () => {
    const set = loadPolicyFolder(new URL("../../examples/policies", import.meta.url).pathname);
    expect(set.policies.map((p) => p.id)).toContain("demo-break-glass");
  });

  it("the AI-agent example folder loads, with its schema file equal to the broker's", () => {
    const set = loadPolicyFolder(new URL("../../examples/policies/ai-agents", import.meta.url).pathname);
    expect(set.policies.map((p) => p.id)).toEqual(
      expect.arrayContaining([
        "agent-read-for-declared-task",
        "agent-write-needs-a-human",
        "no-reveal-to-unknown-clients",
      ]),
    );
  });
});
