// The suite every Store implementation passes (SQLite and PostgreSQL): call it from the backend's test file.
import { afterEach, beforeEach, describe } from "vitest";
import type { Store } from "../store.js";
import { approvalsContract } from "./contract-approvals.js";
import { auditContract } from "./contract-audit.js";
import { evidenceContract } from "./contract-evidence.js";
import { identitiesContract } from "./contract-identities.js";
import { keysAndStateContract } from "./contract-keys-state.js";
import { queriesContract } from "./contract-queries.js";
import { replicasContract } from "./contract-replicas.js";
import { writesContract } from "./contract-writes.js";

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

    describe("writes", () => writesContract(context));
    describe("grant queries", () => queriesContract(context));
    describe("audit log", () => auditContract(context));
    describe("api keys and connector state", () => keysAndStateContract(context));
    describe("identity registry", () => identitiesContract(context));
    describe("replicas: claims, leases, insert-once and compare-and-set", () => replicasContract(context));
    describe("approvals and the notification outbox", () => approvalsContract(context));
    describe("evidence: usage, receipts and the report", () => evidenceContract(context));
  });
}
