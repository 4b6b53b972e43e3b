// Removal receipts and usage; mirrors SQLite's 005.
import type { Migration } from "../migration.js";

export const evidence: Migration = {
  version: 5,
  name: "evidence",
  up: `
ALTER TABLE grants ADD COLUMN first_used_at BIGINT;
ALTER TABLE grants ADD COLUMN last_used_at BIGINT;
ALTER TABLE grants ADD COLUMN unused SMALLINT;
ALTER TABLE grants ADD COLUMN receipt TEXT;
CREATE INDEX grants_issued ON grants (issued_at) WHERE issued_at IS NOT NULL;
`,
};
