// Agent intent in tokens: a request's task and actions travel as RFC 9396 `authorization_details`, survive renewal
// unchanged, verify and introspect; a token without an intent carries none.
import { describe, expect, it } from "vitest";
import { tokenFixture } from "../testing/token-fixture.js";

describe("authorization_details", () => {
  it("carries the task and its actions in issued and renewed tokens, and introspection shows them", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    const intent = { task: "T-42", actions: ["tickets.read", "tickets.update"], description: "triage" };
    const issued = await f.connector.issue({
      grant,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt,
      intent,
    });
    const claims = await f.authority.verify(f.tokenOf(issued.credential));
    const expected = [
      {
        type: "ephemera_task",
        task: "T-42",
        actions: ["tickets.read", "tickets.update"],
        entitlement: f.entitlement.name,
      },
    ];
    expect(claims.authorization_details).toEqual(expected);
    const renewed = await f.connector.renew({
      grant,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt,
      intent,
    });
    if (!renewed.credential) throw new Error("a token target renews with a fresh token");
    expect((await f.authority.verify(f.tokenOf(renewed.credential))).authorization_details).toEqual(expected);
    const seen = await f.authority.introspect(f.tokenOf(issued.credential), async () => true);
    expect(seen).toMatchObject({ active: true, authorization_details: expected });
  });

  it("leaves them out when the request carried no task or actions", async () => {
    const f = await tokenFixture();
    const grant = f.makeGrant();
    const plain = { task: null, actions: [], description: "free text only" };
    const issued = await f.connector.issue({
      grant,
      identity: f.identity,
      entitlement: f.entitlement,
      expiresAt: grant.expiresAt,
      intent: plain,
    });
    expect((await f.authority.verify(f.tokenOf(issued.credential))).authorization_details).toBeUndefined();
  });
});
