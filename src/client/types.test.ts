// The client's types stay in step with what the server's presenters produce (a compile-time check run by tsc).

import type { Static } from "typebox";
import { describe, expect, it } from "vitest";
import type { ChainVerification } from "../audit/verify.js";
import type { presentAuditEvent, presentGrant, presentRequest } from "../http/present.js";
import type { EntitlementViewSchema } from "../wire/index.js";
import type { AccessRequest, AuditEvent, AuditVerification, EntitlementView, Grant } from "./types.js";

type Assignable<From, To> = From extends To ? true : false;

describe("client types", () => {
  it("accept the presenters' output", () => {
    const grant: Assignable<ReturnType<typeof presentGrant>, Grant> = true;
    const request: Assignable<ReturnType<typeof presentRequest>, AccessRequest> = true;
    const event: Assignable<ReturnType<typeof presentAuditEvent>, AuditEvent> = true;
    const verification: Assignable<ChainVerification, AuditVerification> = true;
    const entitlement: Assignable<Static<typeof EntitlementViewSchema>, EntitlementView> = true;
    expect([grant, request, event, verification, entitlement]).toEqual([true, true, true, true, true]);
  });
});
