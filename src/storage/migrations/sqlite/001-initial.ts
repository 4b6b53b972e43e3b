// The first SQLite schema: requests, grants, the hash-chained audit log, API keys and connector state.
import type { Migration } from "../migration.js";

// Scalar fields are columns so operators can query them and indexes can use them; nested objects are JSON text.
// Enum values are not CHECKed: SQLite cannot alter a CHECK without rebuilding the table, and the domain types guard them.
export const initialSchema: Migration = {
  version: 1,
  name: "initial-schema",
  up: `
CREATE TABLE requests (
  id              TEXT PRIMARY KEY,
  identity_id     TEXT NOT NULL,
  entitlement     TEXT NOT NULL,
  target_id       TEXT NOT NULL,
  duration_seconds INTEGER NOT NULL,
  justification   TEXT,
  ticket          TEXT,
  intent          TEXT,
  break_glass     INTEGER NOT NULL,
  state           TEXT NOT NULL,
  decision        TEXT,
  grant_id        TEXT,
  state_reason    TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  version         INTEGER NOT NULL
);
CREATE INDEX requests_identity ON requests (identity_id, id);
CREATE INDEX requests_state ON requests (state);

CREATE TABLE grants (
  id              TEXT PRIMARY KEY,
  request_id      TEXT NOT NULL REFERENCES requests (id),
  identity_id     TEXT NOT NULL,
  target_id       TEXT NOT NULL,
  entitlement     TEXT NOT NULL,
  connector_type  TEXT NOT NULL,
  handle          TEXT NOT NULL,
  handle_data     TEXT NOT NULL,
  state           TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  issued_at       INTEGER,
  expires_at      INTEGER NOT NULL,
  max_expires_at  INTEGER NOT NULL,
  renewals        INTEGER NOT NULL,
  end_reason      TEXT,
  ended_at        INTEGER,
  ended_by        TEXT,
  attempts        INTEGER NOT NULL,
  last_error      TEXT,
  revoked_at      INTEGER,
  verified_at     INTEGER,
  evidence        TEXT,
  due_at          INTEGER,
  version         INTEGER NOT NULL
);
-- Only grants with work pending are in the due index, so finding due work costs the same with 10 or 10 million live grants.
CREATE INDEX grants_due ON grants (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX grants_identity ON grants (identity_id, id);
CREATE INDEX grants_target ON grants (target_id, id);
CREATE INDEX grants_state ON grants (state);
CREATE INDEX grants_request ON grants (request_id);

-- seq is the rowid: contiguous from 1, assigned by the store under the write lock.
CREATE TABLE audit_events (
  seq             INTEGER PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  time            INTEGER NOT NULL,
  code            TEXT NOT NULL,
  severity        TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  actor_type      TEXT NOT NULL,
  actor_id        TEXT NOT NULL,
  request_id      TEXT,
  grant_id        TEXT,
  identity_id     TEXT,
  data            TEXT NOT NULL,
  prev_hash       TEXT NOT NULL,
  hash            TEXT NOT NULL
);
CREATE INDEX audit_grant ON audit_events (grant_id, seq) WHERE grant_id IS NOT NULL;
CREATE INDEX audit_request ON audit_events (request_id, seq) WHERE request_id IS NOT NULL;
-- Append-only by construction, so a bug cannot rewrite history; the hash chain catches whoever drops these triggers.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE api_keys (
  key_id          TEXT PRIMARY KEY,
  identity_id     TEXT NOT NULL,
  hash            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  revoked_at      INTEGER
);

CREATE TABLE connector_state (
  namespace       TEXT NOT NULL,
  key             TEXT NOT NULL,
  value           TEXT NOT NULL,
  expires_at      INTEGER,
  PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX connector_state_expiry ON connector_state (expires_at) WHERE expires_at IS NOT NULL;
`,
};
