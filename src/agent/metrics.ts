// The agent's Prometheus metrics, on a registry of its own; labels are credential names from the config, never values.
import { Counter, Gauge, Registry } from "prom-client";

export class AgentMetrics {
  readonly registry = new Registry();
  readonly held = new Gauge({
    name: "ephemera_agent_credentials_held",
    help: "Credentials the agent holds now (current grants; grants in their grace overlap are not counted)",
    registers: [this.registry],
  });
  readonly expiry = new Gauge({
    name: "ephemera_agent_credential_expiry_seconds",
    help: "Seconds until the current grant of each credential expires unless renewed",
    labelNames: ["credential"],
    registers: [this.registry],
  });
  readonly renewals = new Counter({
    name: "ephemera_agent_renewals_total",
    help: "Grants renewed",
    labelNames: ["credential"],
    registers: [this.registry],
  });
  readonly rotations = new Counter({
    name: "ephemera_agent_rotations_total",
    help: "New grants that replaced a grant (renewal refused or at its maximum)",
    labelNames: ["credential"],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: "ephemera_agent_failures_total",
    help: "Failed attempts, by operation (issue, renew, rotate, complete, sink, notify)",
    labelNames: ["credential", "operation"],
    registers: [this.registry],
  });
  readonly completions = new Counter({
    name: "ephemera_agent_grants_completed_total",
    help: "Grants the agent completed, by whether the broker verified the removal",
    labelNames: ["credential", "verified"],
    registers: [this.registry],
  });
}
