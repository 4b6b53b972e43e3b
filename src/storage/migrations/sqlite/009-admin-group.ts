// The admin flag becomes membership of the admin group, which policy grants the privileged actions to.
import type { Migration } from "../migration.js";

// A stored identity with admin = 1 joins the group 'admins' (the value of ADMIN_GROUP), so policy sees it as an admin
// whether or not its definition is read again; one already in that group gets the flag, which keeps the last active
// admin from being offboarded. The flag column stays: it mirrors the membership.
export const adminGroup: Migration = {
  version: 9,
  name: "admin-group",
  up: `
UPDATE identities SET groups = json_insert(groups, '$[#]', 'admins')
WHERE admin = 1 AND NOT EXISTS (SELECT 1 FROM json_each(identities.groups) WHERE value = 'admins');
UPDATE identities SET admin = 1
WHERE admin = 0 AND EXISTS (SELECT 1 FROM json_each(identities.groups) WHERE value = 'admins');
`,
};
