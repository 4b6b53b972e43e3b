// Builders of requests, grants and audit drafts for store tests: valid by default, every field overridable.

import { expect } from "vitest";
import { openGrant } from "../../domain/transitions.js";
import type { AccessRequest, AuditDraft, Grant, IdentityRecord } from "../../domain/types.js";
import { newId } from "../../support/ids.js";
import type { ChangeSet, Store } from "../store.js";

export const T0 = Date.UTC(2026, 0, 1);

export function makeRequest(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: newId("req"),
    identityId: "ci-deploy",
    entitlement: "orders-db/read",
    targetId: "orders-db",
    durationSeconds: 900,
    justification: null,
    ticket: null,
    intent: null,
    breakGlass: false,
    state: "approved",
    decision: null,
    grantId: null,
    stateReason: null,
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    revision: 0,
    approvals: [],
    dueAt: null,
    review: null,
    facts: null,
    ...overrides,
  };
}

export function makeGrant(request: AccessRequest, overrides: Partial<Grant> = {}): Grant {
  const grant = openGrant({
    id: newId("grt"),
    requestId: request.id,
    identityId: request.identityId,
    targetId: request.targetId,
    entitlement: request.entitlement,
    connectorType: "postgres",
    handle: `eph_${request.id.slice(4, 14)}`,
    handleData: {},
    createdAt: T0,
    expiresAt: T0 + 900_000,
    maxExpiresAt: T0 + 3_600_000,
    dueAt: T0 + 900_000,
  });
  return { ...grant, ...overrides };
}

/** A receipt as stored before migration 8: `unused: true` from polling sessions, no `usageObservation`. */
export const RECEIPT_BEFORE_USAGE_OBSERVATION = JSON.stringify({
  removed: ["role eph_x"],
  sessionsEnded: { count: 0, ids: [] },
  revokedAt: T0 + 10,
  verification: null,
  verifiedAt: null,
  firstUsedAt: null,
  lastUsedAt: null,
  unused: true,
});

/** Grants whose stored receipts predate migration 8: one from a polled target (PostgreSQL), one a token. */
export async function grantsBeforeUsageObservation(store: Store): Promise<{ polled: Grant; token: Grant }> {
  const [polled, token] = await insertGrants(store, [
    { state: "verified", issuedAt: T0 },
    { state: "verified", issuedAt: T0, connectorType: "token" },
  ]);
  if (!polled || !token) throw new Error("grants not inserted");
  return { polled, token };
}

/** What migration 8 leaves of those: no `unused: true`, and how usage was observed, in the receipt and the report. */
export async function expectUsageObservationMigrated(store: Store, grants: { polled: Grant; token: Grant }) {
  expect((await store.getGrant(grants.polled.id))?.receipt).toMatchObject({
    unused: null,
    usageObservation: { method: "polled", detail: expect.stringContaining("between two looks") },
    removed: ["role eph_x"],
  });
  expect((await store.getGrant(grants.token.id))?.receipt).toMatchObject({
    unused: null,
    usageObservation: { method: "introspection" },
  });
  expect(await store.grantReport({ from: T0, to: T0 + 1, now: T0 })).toMatchObject({
    unused: 0,
    usageNotObservable: 2,
  });
}

/** Identities as stored before migration 9: an admin by flag only, and a member of 'admins' without the flag. */
export async function identitiesBeforeAdminGroup(store: Store): Promise<void> {
  await store.apply({
    writes: [
      {
        kind: "insertIdentity",
        identity: makeIdentity({ id: "old-admin", kind: "human", groups: ["sre"], admin: true }),
      },
      { kind: "insertIdentity", identity: makeIdentity({ id: "in-group", kind: "human", groups: ["admins"] }) },
      { kind: "insertIdentity", identity: makeIdentity({ id: "plain", groups: ["ci"] }) },
    ],
    audit: [makeDraft()],
  });
}

/** What migration 9 leaves of those: the flag and the group agree, other groups and identities untouched. */
export async function expectAdminGroupMigrated(store: Store): Promise<void> {
  expect(await store.getIdentity("old-admin")).toMatchObject({ groups: ["sre", "admins"], admin: true });
  expect(await store.getIdentity("in-group")).toMatchObject({ groups: ["admins"], admin: true });
  expect(await store.getIdentity("plain")).toMatchObject({ groups: ["ci"], admin: false });
}

export function makeIdentity(overrides: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    id: "ci-deploy",
    kind: "pipeline",
    owner: "team-payments",
    groups: ["ci"],
    attributes: { env: "prod" },
    admin: false,
    status: "active",
    statusReason: null,
    source: "config",
    firstSeenAt: null,
    lastSeenAt: null,
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...overrides,
  };
}

export function makeDraft(overrides: Partial<AuditDraft> = {}): AuditDraft {
  return {
    time: T0,
    code: "test.event",
    severity: "info",
    outcome: "success",
    actor: { type: "system", id: "test" },
    requestId: null,
    grantId: null,
    identityId: null,
    data: {},
    ...overrides,
  };
}

/** A change set creating a request and, when given, its grant, with one audit event naming both. */
export function creation(request: AccessRequest, grant?: Grant): ChangeSet {
  return {
    writes: [
      { kind: "insertRequest", request },
      ...(grant === undefined ? [] : [{ kind: "insertGrant", grant } as const]),
    ],
    audit: [makeDraft({ code: "request.created", requestId: request.id, grantId: grant?.id ?? null })],
  };
}

/** Inserts grants (one request each) in one change set per grant, concurrently; returns them in input order. */
export async function insertGrants(store: Store, grants: readonly Partial<Grant>[]): Promise<Grant[]> {
  const made = grants.map((overrides) => {
    const request = makeRequest({
      ...(overrides.identityId === undefined ? {} : { identityId: overrides.identityId }),
      ...(overrides.targetId === undefined ? {} : { targetId: overrides.targetId }),
    });
    return { request, grant: makeGrant(request, overrides) };
  });
  await Promise.all(made.map(({ request, grant }) => store.apply(creation(request, grant))));
  return made.map(({ grant }) => grant);
}
