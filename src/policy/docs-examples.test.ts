// The Cedar examples in docs/writing-policies.md and the demo policies load and validate: docs that users copy must work.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePolicies, loadPolicyFolder } from "./cedar/policy-set.js";

describe("policy examples", () => {
  it("every cedar block of docs/writing-policies.md validates against the schema", () => {
    const doc = readFileSync(new URL("../../docs/writing-policies.md", import.meta.url), "utf8");
    const blocks = [...doc.matchAll(/```cedar\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    expect(blocks.length).toBeGreaterThan(0);
    for (const [i, block] of blocks.entries()) {
      expect(compilePolicies("docs", [[`block-${i}.cedar`, block]]).policies.length).toBeGreaterThan(0);
    }
  });

  it("the demo's policy folder loads, with its schema file equal to the broker's", () => {
    const set = loadPolicyFolder(new URL("../../examples/policies", import.meta.url).pathname);
    expect(set.policies.map((p) => p.id)).toContain("demo-break-glass");
  });
});
