// Approvals, break-glass reviews and the notification outbox: request columns for the approval stage, and the
// notifications table written in the same commit as the state change it reports.
import type { Migration } from "../migration.js";

export const approvalsAndNotifications: Migration = {
  version: 4,
  name: "approvals-and-notifications",
  up: `
ALTER TABLE requests ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN approvals TEXT NOT NULL DEFAULT '[]';
ALTER TABLE requests ADD COLUMN due_at INTEGER;
ALTER TABLE requests ADD COLUMN review TEXT;
-- The deadline of a break-glass review not yet recorded; null once it is. Kept as a column for the overdue count.
ALTER TABLE requests ADD COLUMN review_due_at INTEGER;
ALTER TABLE requests ADD COLUMN facts TEXT;
-- Pending timeouts, uncollected approvals and review deadlines, found without scanning every request.
CREATE INDEX requests_due ON requests (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX requests_review_due ON requests (review_due_at) WHERE review_due_at IS NOT NULL;
CREATE INDEX requests_state_id ON requests (state, id);

-- The outbox: one row per event and webhook, delivered after the commit; never blocks a decision.
CREATE TABLE notifications (
  id              TEXT PRIMARY KEY,
  sink            TEXT NOT NULL,
  event           TEXT NOT NULL,
  payload         TEXT NOT NULL,
  state           TEXT NOT NULL,
  attempts        INTEGER NOT NULL,
  next_attempt_at INTEGER,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX notifications_state ON notifications (state, id);
`,
};
