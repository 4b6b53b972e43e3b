// `ephemera report` against a recorded API: the range goes out as query parameters, the summary and --json come back.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PrivilegeReport } from "../client/index.js";
import { ADMIN_KEY, type FakeBroker, startFakeBroker } from "../client/testing/fake-broker.js";
import { EXIT } from "./exit-codes.js";
import { run } from "./testing/run-cli.js";

const report: PrivilegeReport = {
  from: "2030-01-01T00:00:00.000Z",
  to: "2030-01-02T00:00:00.000Z",
  grants: {
    issued: 10,
    ended: 8,
    verifiedRemoval: 8,
    verifiedShare: 1,
    overrunsOver2s: 0,
    unused: 2,
    usageNotObservable: 5,
    renewals: 3,
  },
  privilegeSeconds: { median: 300, p99: 890.5 },
  standing: [{ target: "orders-db", accounts: 4 }],
  discoveredAt: "2030-01-01T23:00:00.000Z",
};

let broker: FakeBroker;
beforeEach(async () => {
  broker = await startFakeBroker((request) =>
    request.url.startsWith("/v1/report?from=bad")
      ? {
          status: 400,
          body: {
            type: "urn:ephemera:problem:invalid_request",
            title: "The request is malformed",
            status: 400,
            detail: "from: must be an RFC 3339 date-time such as 2026-01-31T00:00:00Z",
            code: "invalid_request",
          },
        }
      : { status: 200, body: report },
  );
});
afterEach(async () => {
  await broker.close();
});

describe("ephemera report", () => {
  const env = () => ({ EPHEMERA_URL: broker.url, EPHEMERA_ADMIN_TOKEN: ADMIN_KEY });

  it("sends the range and prints the figures", async () => {
    const result = await run(["report", "--from", report.from, "--to", report.to], env());
    expect(result).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(broker.requests[0]?.url).toBe(
      `/v1/report?from=${encodeURIComponent(report.from)}&to=${encodeURIComponent(report.to)}`,
    );
    expect(broker.requests[0]?.headers.authorization).toBe(`Bearer ${ADMIN_KEY}`);
    expect(result.stdout).toMatch(/verified removal\s+8 \(100\.0% of ended; goal 100%\)/);
    expect(result.stdout).toMatch(/privilege p99\s+890.5 s/);
    expect(result.stdout).toMatch(/unused \(proven\)\s+2\n/);
    expect(result.stdout).toMatch(/usage not observable\s+5\n/);
    expect(result.stdout).toMatch(/orders-db\s+4/);
  });

  it("prints the API's JSON with --json, and sends no range when none is given", async () => {
    const result = await run(["report", "--json"], env());
    expect(result.code).toBe(EXIT.ok);
    expect(JSON.parse(result.stdout)).toStrictEqual(report);
    expect(broker.requests[0]?.url).toBe("/v1/report");
  });

  it("a range the broker refuses exits with the usage code and its message", async () => {
    const result = await run(["report", "--from", "bad"], env());
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("from: must be an RFC 3339 date-time");
  });
});
