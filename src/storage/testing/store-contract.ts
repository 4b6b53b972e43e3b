// The suite every Store implementation passes (SQLite and PostgreSQL), one file per aggregate: call it from the
// backend's test file.
import { afterEach, beforeEach, describe } from "vitest";
import type { Store } from "../store.js";
import { auditLogContract } from "./contract-audit-log.js";
import { changeSetsContract } from "./contract-change-sets.js";
import { grantEvidenceContract } from "./contract-grant-evidence.js";
import { grantsContract } from "./contract-grants.js";
import { identitiesContract } from "./contract-identities.js";
import { leasesContract } from "./contract-leases.js";
import { outboxContract } from "./contract-outbox.js";
import { requestsContract } from "./contract-requests.js";
import { stateContract } from "./contract-state.js";

/** A fresh, migrated, empty store per test, and how to remove it afterwards. */
export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** What each section of the suite sees: the current test's store. */
export interface ContractContext {
  readonly store: Store;
}

export function describeStoreContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let current: { store: Store; cleanup: () => Promise<void> } | null = null;
    const context: ContractContext = {
      get store(): Store {
        if (current === null) throw new Error("no store: the contract's beforeEach did not run");
        return current.store;
      },
    };

    beforeEach(async () => {
      current = await makeStore();
    });

    afterEach(async () => {
      const done = current;
      current = null;
      if (done !== null) await done.cleanup();
    });

    describe("change sets", () => changeSetsContract(context));
    describe("grants", () => grantsContract(context));
    describe("grant evidence: usage, receipts and the report", () => grantEvidenceContract(context));
    describe("requests", () => requestsContract(context));
    describe("notification outbox", () => outboxContract(context));
    describe("audit log", () => auditLogContract(context));
    describe("identities and api keys", () => identitiesContract(context));
    describe("key-value state", () => stateContract(context));
    describe("leases", () => leasesContract(context));
  });
}
