// Identities and their API keys as SQL rows: groups and attributes as JSON text, the admin flag as 0/1.
import type { IdentityKind, IdentityRecord, IdentityStatus } from "../../domain/index.js";
import type { ApiKeyRecord } from "../store.js";
import { columns } from "./columns.js";
import { toJson } from "./json.js";

export interface IdentityRow {
  id: string;
  kind: string;
  owner: string | null;
  groups: string;
  attributes: string;
  admin: number;
  status: string;
  status_reason: string | null;
  source: string;
  first_seen_at: number | null;
  last_seen_at: number | null;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface ApiKeyRow {
  key_id: string;
  identity_id: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

export const IDENTITY_COLUMNS = columns<IdentityRow>({
  id: true,
  kind: true,
  owner: true,
  groups: true,
  attributes: true,
  admin: true,
  status: true,
  status_reason: true,
  source: true,
  first_seen_at: true,
  last_seen_at: true,
  created_at: true,
  updated_at: true,
  version: true,
});

/** A versioned identity update leaves sightings alone: they are written outside change sets and must not be undone. */
export const IDENTITY_UPDATE_COLUMNS = IDENTITY_COLUMNS.filter((c) => c !== "first_seen_at" && c !== "last_seen_at");

export function identityToRow(i: IdentityRecord): IdentityRow {
  return {
    id: i.id,
    kind: i.kind,
    owner: i.owner,
    groups: toJson(i.groups, "identity groups"),
    attributes: toJson(i.attributes, "identity attributes"),
    admin: i.admin ? 1 : 0,
    status: i.status,
    status_reason: i.statusReason,
    source: i.source,
    first_seen_at: i.firstSeenAt,
    last_seen_at: i.lastSeenAt,
    created_at: i.createdAt,
    updated_at: i.updatedAt,
    version: i.version,
  };
}

export function rowToIdentity(row: IdentityRow): IdentityRecord {
  return {
    id: row.id,
    kind: row.kind as IdentityKind,
    owner: row.owner,
    groups: JSON.parse(row.groups) as string[],
    attributes: JSON.parse(row.attributes) as Record<string, string>,
    admin: row.admin !== 0,
    status: row.status as IdentityStatus,
    statusReason: row.status_reason,
    source: row.source,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export function rowToApiKey(row: ApiKeyRow): ApiKeyRecord {
  return {
    keyId: row.key_id,
    identityId: row.identity_id,
    hash: row.hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
