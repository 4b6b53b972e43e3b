import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AgentMetrics } from "./metrics.js";

describe("AgentMetrics", () => {
  it("has exactly the metrics docs/agent.md lists, with their labels", async () => {
    const documented = [
      ...readFileSync(new URL("../../docs/agent.md", import.meta.url), "utf8").matchAll(
        /^\| `(ephemera_agent_\w+)` \| \w+ \| ([^|]*)\|/gm,
      ),
    ].map(([, name, labels]) => `${name} ${[...(labels ?? "").matchAll(/`(\w+)`/g)].map((l) => l[1]).join(",")}`);
    const metrics = new AgentMetrics();
    const actual = (await metrics.registry.getMetricsAsJSON()).map((m) => {
      const labels = (metrics.registry.getSingleMetric(m.name) as unknown as { labelNames: string[] }).labelNames;
      return `${m.name} ${labels.join(",")}`;
    });
    expect(actual.sort()).toEqual(documented.sort());
  });
});
