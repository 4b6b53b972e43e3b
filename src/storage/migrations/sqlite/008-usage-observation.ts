// Receipts say how usage was observed, and `unused: true` stays only where nothing could have been missed.
import type { Migration } from "../migration.js";

// Every receipt written before this came from polling open sessions (PostgreSQL, MariaDB, Redis, RabbitMQ), from
// token introspection, or from a target that cannot show use: none of them could see a session between two looks or a
// token verified offline, so a stored `unused: true` is withdrawn (null, "not observable") in the column the report
// counts and in the receipt. Audit events keep the receipts they carried: the log is append-only.
export const usageObservation: Migration = {
  version: 8,
  name: "usage-observation",
  up: `
UPDATE grants SET unused = NULL, receipt = json_set(receipt, '$.unused', json('null')) WHERE unused = 1;
UPDATE grants SET receipt = json_set(receipt, '$.usageObservation', json_object(
  'method', CASE
    WHEN connector_type IN ('postgres', 'mariadb', 'redis', 'rabbitmq') THEN 'polled'
    WHEN connector_type = 'token' THEN 'introspection'
    ELSE 'none' END,
  'detail', CASE
    WHEN connector_type IN ('postgres', 'mariadb', 'redis', 'rabbitmq') THEN
      'open sessions looked for every monitor.usage.interval and once before removal; a session between two looks is not seen, so never seen does not mean unused'
    WHEN connector_type = 'token' THEN
      'use seen when a resource server introspects the token; a token verified offline against the JWKS is not seen, so never seen does not mean unused'
    ELSE 'the target cannot show use' END))
WHERE receipt IS NOT NULL;
`,
};
