// The identity registry, mirroring SQLite's 002: every identity the broker knows, its source, status and sightings.
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
  admin           SMALLINT NOT NULL,
  status          TEXT NOT NULL,
  status_reason   TEXT,
  source          TEXT NOT NULL,
  first_seen_at   BIGINT,
  last_seen_at    BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  version         INTEGER NOT NULL
);
CREATE INDEX identities_status ON identities (status, id);
CREATE INDEX identities_owner ON identities (owner, id);
`,
};
