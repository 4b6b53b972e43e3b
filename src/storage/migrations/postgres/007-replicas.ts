// Leases for work that one broker process at a time should do; mirrors SQLite's 007.
import type { Migration } from "../migration.js";

export const replicaLeases: Migration = {
  version: 7,
  name: "replica-leases",
  up: `
CREATE TABLE leases (
  name            TEXT PRIMARY KEY,
  holder          TEXT NOT NULL,
  expires_at      BIGINT NOT NULL,
  token           BIGINT NOT NULL
);
`,
};
