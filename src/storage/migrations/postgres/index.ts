// Every PostgreSQL migration, in the order they apply. Each mirrors the SQLite migration of the same version.
import { assertOrdered, type Migration } from "../migration.js";
import { initialSchema } from "./001-initial.js";
import { identityRegistry } from "./002-identities.js";
import { approvalsAndNotifications } from "./004-approvals.js";
import { evidence } from "./005-evidence.js";
import { replicaLeases } from "./007-replicas.js";
import { usageObservation } from "./008-usage-observation.js";
import { adminGroup } from "./009-admin-group.js";

export const postgresMigrations: readonly Migration[] = [
  initialSchema,
  identityRegistry,
  approvalsAndNotifications,
  evidence,
  replicaLeases,
  usageObservation,
  adminGroup,
];

assertOrdered(postgresMigrations);
