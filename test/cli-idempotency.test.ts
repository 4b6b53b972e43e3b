// `ephemera request --idempotency-key` and the client's `idempotencyKey` against a real broker: a retried step of a
// pipeline makes one grant, and the retry says so instead of printing a credential it does not have.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.js";
import { run } from "../src/cli/testing/run-cli.js";
import { EphemeraClient } from "../src/client/index.js";
import { startTestBroker, type TestBroker } from "./support/broker.js";

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker({ listen: true });
});
afterAll(async () => {
  await t?.close();
});

describe("Idempotency-Key from the CLI and the client", () => {
  it("a retried `ephemera request` with the same key makes one grant and prints no credential the second time", async () => {
    const env = { EPHEMERA_URL: t.broker.url, EPHEMERA_TOKEN: t.keys.ci };
    const args = ["request", "demo-api/read", "--duration", "5m", "--idempotency-key", "deploy-7-step-3"];
    const first = await run(args, env);
    expect(first, first.stderr).toMatchObject({ code: EXIT.ok, stderr: "" });
    const grantId = /^# grant (\S+) /m.exec(first.stdout)?.[1];
    expect(grantId).toBeDefined();
    expect(first.stdout).toMatch(/^token=/m);

    const again = await run(args, env);
    expect(again, again.stderr).toMatchObject({ code: EXIT.ok, stderr: "" });
    expect(again.stdout).toContain(`# grant ${grantId} `);
    expect(again.stdout).toContain("already made with this idempotency key");
    expect(again.stdout).not.toMatch(/^token=/m);
    const grants = await t.broker.deps.store.listGrants({ limit: 100 });
    expect(grants.filter((g) => g.identityId === "ci-deploy")).toHaveLength(1);

    const json = JSON.parse((await run([...args, "--json"], env)).stdout);
    expect(json).toMatchObject({ grant: { id: grantId }, credential: null });

    const other = await run(["request", "demo-api/write", "--idempotency-key", "deploy-7-step-3"], env);
    expect(other.code).not.toBe(EXIT.ok);
    expect(other.stderr).toContain("idempotency");
    const bad = await run(["request", "demo-api/read", "--idempotency-key", "has space"], env);
    expect(bad.code).toBe(EXIT.usage);
  });

  it("the client sends the key and reports a replay", async () => {
    const client = new EphemeraClient({ url: t.broker.url, token: t.keys.other });
    const input = { entitlement: "demo-api/read", duration: "5m" };
    const first = await client.request(input, { idempotencyKey: "job-42" });
    const again = await client.request(input, { idempotencyKey: "job-42" });
    expect("credential" in first && first.credential).toBeTruthy();
    expect(again).toMatchObject({ credential: null, grant: { id: (first as { grant: { id: string } }).grant.id } });
    await expect(client.requestNow(input, { idempotencyKey: "job-42" })).rejects.toMatchObject({
      code: "idempotent_replay",
    });
  });
});
