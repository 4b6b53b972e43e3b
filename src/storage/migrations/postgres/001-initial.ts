// The first PostgreSQL schema, mirroring SQLite's 001: requests, grants, the hash-chained audit log, API keys, state.
import type { Migration } from "../migration.js";

// Columns and their meaning are SQLite's (one row mapping serves both stores): times are epoch milliseconds in BIGINT,
// nested objects JSON text (kept byte for byte as written, unlike jsonb), booleans 0/1. What PostgreSQL adds:
// - audit_head, one row holding the chain's last seq and hash. Every write transaction locks it first
//   (SELECT … FOR UPDATE), so replicas append to one contiguous chain, one transaction at a time.
// - triggers that keep audit_events append-only and the head moving forward only.
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
  break_glass     SMALLINT NOT NULL,
  state           TEXT NOT NULL,
  decision        TEXT,
  grant_id        TEXT,
  state_reason    TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
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
  created_at      BIGINT NOT NULL,
  issued_at       BIGINT,
  expires_at      BIGINT NOT NULL,
  max_expires_at  BIGINT NOT NULL,
  renewals        INTEGER NOT NULL,
  end_reason      TEXT,
  ended_at        BIGINT,
  ended_by        TEXT,
  attempts        INTEGER NOT NULL,
  last_error      TEXT,
  revoked_at      BIGINT,
  verified_at     BIGINT,
  evidence        TEXT,
  due_at          BIGINT,
  version         INTEGER NOT NULL
);
-- Only grants with work pending are in the due index, so finding (and claiming) due work costs the same with 10 or
-- 10 million grants in the table.
CREATE INDEX grants_due ON grants (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX grants_identity ON grants (identity_id, id);
CREATE INDEX grants_target ON grants (target_id, id);
CREATE INDEX grants_state ON grants (state);
CREATE INDEX grants_request ON grants (request_id);

CREATE TABLE audit_events (
  seq             BIGINT PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  time            BIGINT NOT NULL,
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

CREATE TABLE audit_head (
  id              SMALLINT PRIMARY KEY CHECK (id = 1),
  seq             BIGINT NOT NULL,
  hash            TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${"0".repeat(64)}');

-- Append-only by construction, so a bug cannot rewrite history; the hash chain catches whoever drops these triggers.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only';
END
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'UPDATE' OR NEW.seq < OLD.seq THEN
    RAISE EXCEPTION 'the audit head only moves forward';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only();

CREATE TABLE api_keys (
  key_id          TEXT PRIMARY KEY,
  identity_id     TEXT NOT NULL,
  hash            TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  revoked_at      BIGINT
);

CREATE TABLE connector_state (
  namespace       TEXT NOT NULL,
  key             TEXT NOT NULL,
  value           TEXT NOT NULL,
  expires_at      BIGINT,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX connector_state_expiry ON connector_state (expires_at) WHERE expires_at IS NOT NULL;
`,
};
