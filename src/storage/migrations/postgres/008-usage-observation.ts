// Receipts say how usage was observed; mirrors SQLite's 008 (a polled `unused: true` is withdrawn).
import type { Migration } from "../migration.js";

export const usageObservation: Migration = {
  version: 8,
  name: "usage-observation",
  up: `
UPDATE grants SET unused = NULL, receipt = jsonb_set(receipt::jsonb, '{unused}', 'null'::jsonb)::text WHERE unused = 1;
UPDATE grants SET receipt = jsonb_set(receipt::jsonb, '{usageObservation}', jsonb_build_object(
  'method', CASE
    WHEN connector_type IN ('postgres', 'mariadb', 'redis', 'rabbitmq') THEN 'polled'
    WHEN connector_type = 'token' THEN 'introspection'
    ELSE 'none' END,
  'detail', CASE
    WHEN connector_type IN ('postgres', 'mariadb', 'redis', 'rabbitmq') THEN
      'open sessions looked for every monitor.usage.interval and once before removal; a session between two looks is not seen, so never seen does not mean unused'
    WHEN connector_type = 'token' THEN
      'use seen when a resource server introspects the token; a token verified offline against the JWKS is not seen, so never seen does not mean unused'
    ELSE 'the target cannot show use' END))::text
WHERE receipt IS NOT NULL;
`,
};
