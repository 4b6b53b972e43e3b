// The client's types stay in step with the wire schemas and with what the server's presenters produce (a compile-time
// check run by tsc). Most client types are derived from src/wire/; these cover the few declared or narrowed by hand.

import type { Static } from "typebox";
import { describe, expect, it } from "vitest";
import type { ChainVerification } from "../audit/verify.js";
import type { presentAuditEvent, presentGrant, presentRequest } from "../http/present.js";
import type { presentIdentity } from "../http/routes/identities.js";
import type { offboardIdentity } from "../lifecycle/identities/offboard-identity.js";
import type { introspectToken } from "../lifecycle/monitor/introspect.js";
import type { IdentitySchema, OffboardResultSchema } from "../wire/index.js";
import type {
  AccessRequest,
  AuditEvent,
  AuditVerification,
  Grant,
  GrantState,
  IdentityView,
  Introspection,
  OffboardResult,
} from "./types.js";

type Assignable<From, To> = From extends To ? true : false;
type Offboarded = Awaited<ReturnType<typeof offboardIdentity>>;

describe("client types", () => {
  it("accept the presenters' output", () => {
    const grant: Assignable<ReturnType<typeof presentGrant>, Grant> = true;
    const request: Assignable<ReturnType<typeof presentRequest>, AccessRequest> = true;
    const event: Assignable<ReturnType<typeof presentAuditEvent>, AuditEvent> = true;
    const verification: Assignable<ChainVerification, AuditVerification> = true;
    const introspection: Assignable<Awaited<ReturnType<typeof introspectToken>>, Introspection> = true;
    expect([grant, request, event, verification, introspection]).toEqual([true, true, true, true, true]);
  });

  it("narrow the schema only where the broker sends less than it allows", () => {
    // Each narrowed field stays within the schema's, and wide enough for what the server produces.
    type Offboard = Static<typeof OffboardResultSchema>;
    const identityInSchema: Assignable<IdentityView["status"], Static<typeof IdentitySchema>["status"]> = true;
    const identityFromServer: Assignable<ReturnType<typeof presentIdentity>, IdentityView> = true;
    const offboardInSchema: Assignable<
      [OffboardResult["grants"][number], OffboardResult["inProgress"][number]],
      [Offboard["grants"][number], Offboard["inProgress"][number]]
    > = true;
    const offboardedGrant: Assignable<Offboarded["grants"][number]["state"], GrantState> = true;
    const offboardedInProgress: Assignable<Offboarded["inProgress"][number]["state"], GrantState> = true;
    expect([identityInSchema, identityFromServer, offboardInSchema, offboardedGrant, offboardedInProgress]).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });
});
