// Removal receipts and usage: when a grant was first and last seen in use, whether it never was, what removal did.
import type { Migration } from "../migration.js";

// `unused` repeats the receipt's flag as a column so the report counts it in SQL; `grants_issued` serves the report's
// time range without a scan of every grant.
export const evidence: Migration = {
  version: 5,
  name: "evidence",
  up: `
ALTER TABLE grants ADD COLUMN first_used_at INTEGER;
ALTER TABLE grants ADD COLUMN last_used_at INTEGER;
ALTER TABLE grants ADD COLUMN unused INTEGER;
ALTER TABLE grants ADD COLUMN receipt TEXT;
CREATE INDEX grants_issued ON grants (issued_at) WHERE issued_at IS NOT NULL;
`,
};
