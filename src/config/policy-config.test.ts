// The policy, approval and notification options: defaults, what may not go together, and secrets taken by reference.
import { describe, expect, it } from "vitest";
import { buildConfig, ConfigError } from "./load.js";

const base = () => ({
  identities: { "ci-deploy": { kind: "pipeline", owner: "team", groups: ["ci"] } },
  targets: {
    "demo-api": {
      type: "token",
      audience: "https://x",
      entitlements: { read: { scopes: ["a"], defaultDuration: "5m", maxDuration: "1h" } },
    },
  },
});

function problems(doc: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    buildConfig(doc, "test.yaml", env, "/srv");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("policy, approval and notification options", () => {
  it("takes `policies` as a folder or an object, with defaults, and approval timings with theirs", () => {
    const short = buildConfig({ ...base(), policies: "./policies" }, "t", {}, "/srv");
    expect(short.policies).toEqual({ dir: "/srv/policies", watch: true, onChange: "revoke" });
    const long = buildConfig({ ...base(), policies: { dir: "/p", watch: false, onChange: "expire" } }, "t", {}, "/srv");
    expect(long.policies).toEqual({ dir: "/p", watch: false, onChange: "expire" });
    expect(short.approvals).toEqual({
      pendingTimeoutMs: 3_600_000,
      collectTimeoutMs: 3_600_000,
      sweepIntervalMs: 5000,
      breakGlassMaxSeconds: 3600,
      reviewWithinMs: 86_400_000,
    });
    expect(short.notifications).toEqual({ webhooks: [], retryInitialMs: 2000, retryMaxMs: 300_000 });
  });

  it("refuses `policies` with `access`, an unknown onChange, and a zero timeout, naming each", () => {
    const found = problems({
      ...base(),
      policies: { dir: "./p", onChange: "ignore" },
      access: [{ groups: ["ci"], entitlements: ["demo-api/read"] }],
    });
    expect(found.join("\n")).toContain("policies");
    expect(
      problems({ ...base(), policies: "./p", access: [{ groups: ["ci"], entitlements: ["demo-api/read"] }] }),
    ).toContain("access: not with `policies` (the allow-list is the simple alternative to Cedar policies)");
    expect(problems({ ...base(), approvals: { pendingTimeout: 0 } })).toContain(
      "approvals.pendingTimeout: must be more than zero",
    );
  });

  it("reads a webhook secret from the environment, refuses a short or inline one, and fills webhook defaults", () => {
    const hook = { name: "ops", url: "https://hooks.example/x", secret: { env: "HOOK_SECRET" } };
    const config = buildConfig({ ...base(), notifications: { webhooks: [hook] } }, "t", {
      HOOK_SECRET: "0123456789abcdef-long",
    });
    expect(config.notifications.webhooks[0]).toEqual({
      name: "ops",
      url: "https://hooks.example/x",
      format: "json",
      secret: "0123456789abcdef-long",
      events: ["approval_pending", "break_glass", "review_overdue", "removal_failed", "request_flagged"],
      maxAttempts: 8,
      timeoutMs: 5000,
    });
    expect(problems({ ...base(), notifications: { webhooks: [hook] } }, { HOOK_SECRET: "short" })).toContain(
      "notifications.webhooks.0.secret: must be { env: NAME } or { file: PATH } naming at least 16 characters",
    );
    expect(
      problems({ ...base(), notifications: { webhooks: [{ ...hook, secret: "inline-secret-in-the-file" }] } }).join(
        "\n",
      ),
    ).toContain("notifications.webhooks.0.secret");
    expect(problems({ ...base(), notifications: { webhooks: [{ ...hook, url: "ftp://x" }] } }).join("\n")).toContain(
      "notifications.webhooks.0.url",
    );
  });

  it("checks the bootstrap approver is a configured identity", () => {
    expect(problems({ ...base(), bootstrap: { envFile: "./e", identity: "ci-deploy", approver: "nobody" } })).toContain(
      "bootstrap.approver: 'nobody' is not a configured identity",
    );
  });
});
