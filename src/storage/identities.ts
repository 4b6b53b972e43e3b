// The identities port: the identity registry, sightings, and API keys.
import type { IdentityKind, IdentityRecord, IdentityStatus, Millis } from "../domain/index.js";

export interface IdentityFilter {
  readonly statuses?: readonly IdentityStatus[];
  readonly kinds?: readonly IdentityKind[];
  readonly owner?: string;
  /** Page after this identity id (identities list in id order). */
  readonly after?: string;
  readonly limit: number;
}

/** An identity authenticated at `at`; recorded outside change sets because a sighting changes no state. */
export interface IdentitySighting {
  readonly id: string;
  readonly at: Millis;
}

export interface ApiKeyRecord {
  /** The public part of the key, after the prefix; used to find the record. */
  readonly keyId: string;
  readonly identityId: string;
  /** `sha256:<hex>` of the whole key. */
  readonly hash: string;
  readonly createdAt: Millis;
  readonly revokedAt: Millis | null;
}

export interface IdentityStore {
  getIdentity(id: string): Promise<IdentityRecord | null>;
  listIdentities(filter: IdentityFilter): Promise<readonly IdentityRecord[]>;
  /**
   * Records sightings: `lastSeenAt` moves forward to `at` (never back), `firstSeenAt` is set once. Not audited and not
   * versioned: a sighting is telemetry, and it must not conflict with a concurrent status change.
   */
  markIdentitiesSeen(sightings: readonly IdentitySighting[]): Promise<void>;

  putApiKey(record: ApiKeyRecord): Promise<void>;
  findApiKey(keyId: string): Promise<ApiKeyRecord | null>;
}
