// The published HTTP contract: the OpenAPI document the broker serves is the committed docs/openapi.json, so a change
// to a route or a wire schema shows up as a diff to review. After an intended change: `npx vitest run
// test/openapi-contract.test.ts -u` rewrites the file (in CI the snapshot is never rewritten: a difference fails).
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestBroker, type TestBroker } from "./support/broker.js";

let t: TestBroker;
beforeAll(async () => {
  t = await startTestBroker();
});
afterAll(async () => {
  await t?.close();
});

it("serves the committed OpenAPI document, byte for byte", async () => {
  const response = await t.broker.app.inject({ method: "GET", url: "/openapi.json" });
  expect(response.statusCode).toBe(200);
  await expect(`${JSON.stringify(response.json(), null, 2)}\n`).toMatchFileSnapshot("../docs/openapi.json");
});
