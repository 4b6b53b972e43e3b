// Approvals, break-glass reviews and the notification outbox, mirroring SQLite's 004.
import type { Migration } from "../migration.js";

export const approvalsAndNotifications: Migration = {
  version: 4,
  name: "approvals-and-notifications",
  up: `
ALTER TABLE requests ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN approvals TEXT NOT NULL DEFAULT '[]';
ALTER TABLE requests ADD COLUMN due_at BIGINT;
ALTER TABLE requests ADD COLUMN review TEXT;
ALTER TABLE requests ADD COLUMN review_due_at BIGINT;
ALTER TABLE requests ADD COLUMN facts TEXT;
CREATE INDEX requests_due ON requests (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX requests_review_due ON requests (review_due_at) WHERE review_due_at IS NOT NULL;
CREATE INDEX requests_state_id ON requests (state, id);

CREATE TABLE notifications (
  id              TEXT PRIMARY KEY,
  sink            TEXT NOT NULL,
  event           TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL,
  next_attempt_at BIGINT,
  last_error      TEXT,
  created_at      BIGINT NOT NULL,
  delivered_at    BIGINT
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_state ON notifications (state, id);
`,
};
