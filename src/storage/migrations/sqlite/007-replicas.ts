// Leases for work that one broker process at a time should do (maintenance, signing-key rotation, admin rotation).
import type { Migration } from "../migration.js";

// `token` grows every time the lease changes hands, so a holder can tell (and prove) it still holds the same lease.
export const replicaLeases: Migration = {
  version: 7,
  name: "replica-leases",
  up: `
CREATE TABLE leases (
  name            TEXT PRIMARY KEY,
  holder          TEXT NOT NULL,
  expires_at      INTEGER NOT NULL,
  token           INTEGER NOT NULL
) WITHOUT ROWID;
`,
};
