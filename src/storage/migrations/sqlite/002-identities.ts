// The identity registry: every identity the broker knows, where its definition came from, its status and sightings.
import type { Migration } from "../migration.js";

export const identityRegistry: Migration = {
  version: 2,
  name: "identity-registry",
  up: `
CREATE TABLE identities (
  id              TEXT PRIMARY KEY,
  kind            TEXT NOT NULL,
  owner           TEXT,
  groups          TEXT NOT NULL,
  attributes      TEXT NOT NULL,
  admin           INTEGER NOT NULL,
  status          TEXT NOT NULL,
  status_reason   TEXT,
  source          TEXT NOT NULL,
  first_seen_at   INTEGER,
  last_seen_at    INTEGER,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  version         INTEGER NOT NULL
);
CREATE INDEX identities_status ON identities (status, id);
CREATE INDEX identities_owner ON identities (owner, id);
`,
};
