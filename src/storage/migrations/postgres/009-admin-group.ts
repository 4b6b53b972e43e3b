// The admin flag becomes membership of the admin group; mirrors SQLite's 009.
import type { Migration } from "../migration.js";

export const adminGroup: Migration = {
  version: 9,
  name: "admin-group",
  up: `
UPDATE identities SET groups = (groups::jsonb || '["admins"]'::jsonb)::text
WHERE admin = 1 AND NOT (groups::jsonb @> '["admins"]'::jsonb);
UPDATE identities SET admin = 1 WHERE admin = 0 AND groups::jsonb @> '["admins"]'::jsonb;
`,
};
