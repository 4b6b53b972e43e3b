// Every SQLite migration, in the order they apply. Append new ones; never edit or reorder a released one.
import { assertOrdered, type Migration } from "../migration.js";
import { initialSchema } from "./001-initial.js";
import { identityRegistry } from "./002-identities.js";
import { approvalsAndNotifications } from "./004-approvals.js";
import { evidence } from "./005-evidence.js";
import { replicaLeases } from "./007-replicas.js";
import { usageObservation } from "./008-usage-observation.js";
import { adminGroup } from "./009-admin-group.js";

export const sqliteMigrations: readonly Migration[] = [
  initialSchema,
  identityRegistry,
  approvalsAndNotifications,
  evidence,
  replicaLeases,
  usageObservation,
  adminGroup,
];

assertOrdered(sqliteMigrations);
