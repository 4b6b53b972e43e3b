// The connector port: how the broker makes and removes access in one kind of target. Narrow, one request type per call.
import type { Grant, Identity, Intent, Millis, RemovalEvidence, UsageObservationMethod } from "../domain/index.js";
import type { ChangeSet } from "../storage/index.js";
import type { Secret } from "../support/index.js";

/** An entitlement as configured on a target: what the credential may do and for how long. */
export interface EntitlementSpec {
  /** Full name, `target/entitlement`. */
  readonly name: string;
  readonly targetId: string;
  readonly defaultDurationSeconds: number;
  readonly maxDurationSeconds: number;
  readonly risk: "low" | "medium" | "high";
  /** Connector-specific settings (scopes, roles, ACL rules), validated by the connector at start. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The secret part of an issued credential, returned to the caller once and never stored or logged. */
export interface IssuedCredential {
  /** Fields the caller needs (token, username, password, connection URL…). */
  readonly fields: Secret<Readonly<Record<string, string>>>;
  /** Environment variables for `ephemera exec`. */
  readonly env: Secret<Readonly<Record<string, string>>>;
}

export interface PrepareRequest {
  readonly grantId: string;
  readonly identity: Identity;
  readonly entitlement: EntitlementSpec;
}

/** A key the caller proved it holds (a DPoP proof at request): the credential is bound to it. */
export interface CredentialBinding {
  /** RFC 7638 SHA-256 thumbprint of the public key. */
  readonly jkt: string;
  /** The public key as a JWK (kty, crv, x, y, n, e only). */
  readonly publicJwk: Readonly<Record<string, unknown>>;
}

export interface IssueRequest {
  /** The grant as committed in `issuing`: handle and expiry are durable before this call. */
  readonly grant: Grant;
  readonly identity: Identity;
  readonly entitlement: EntitlementSpec;
  readonly expiresAt: Millis;
  /** Set when the caller proved a key and the connector binds credentials (`bindsCredentials`). */
  readonly binding?: CredentialBinding | undefined;
  /** What the task said it needs (agents); connectors that can carry it (tokens) do. */
  readonly intent?: Intent | null;
}

export interface IssueResponse {
  readonly credential: IssuedCredential;
  /** Non-secret details kept with the grant for removal (merged into handleData). */
  readonly handleData: Readonly<Record<string, unknown>>;
  /**
   * The secret a login probe needs to prove, at removal, that the credential is refused (a password). The broker keeps
   * it sealed under its master key, hands it back in `VerifyRequest.probe`, and destroys it once removal is verified.
   * Omitted by connectors whose credential needs no probe (signed tokens, role elevation of an existing account).
   */
  readonly probe?: Secret<string>;
}

export interface RenewRequest {
  readonly grant: Grant;
  readonly identity: Identity;
  readonly entitlement: EntitlementSpec;
  readonly expiresAt: Millis;
  /** The granted intent; renewal never widens it. */
  readonly intent?: Intent | null;
}

export interface RenewResponse {
  /** A fresh credential when the old one carries its own expiry (a JWT's `exp`); null when the old one stays valid. */
  readonly credential: IssuedCredential | null;
  readonly handleData: Readonly<Record<string, unknown>>;
  /** A new probe secret when renewal changed the credential's secret; it replaces the kept one. */
  readonly probe?: Secret<string>;
}

export interface RevokeRequest {
  readonly grant: Grant;
}

/** What a revoke did downstream, for the grant's removal receipt. Handles and counts only: never a secret. */
export interface RevokeResponse {
  /** What was removed, by handle (`role app_x`, `ACL user eph_x`, `jti …`, `serial …`); empty when already gone. */
  readonly removed: readonly string[];
  /**
   * Sessions the removal ended, with their ids where the target names them (backend pid, connection id, connection
   * name); null for targets without sessions.
   */
  readonly sessionsEnded: { readonly count: number; readonly ids: readonly string[] } | null;
}

/** One grant the target showed in use: a session, a connection, an introspection. */
export interface UsageSighting {
  readonly grantId: string;
  readonly at: Millis;
}

/**
 * Removal of access that lives in the broker's own store (a token's deny-list row): the writes and audit events that
 * remove it, for the broker to commit in the change set that records the grant removed and verified. The proof needs
 * no look afterwards: the grant cannot be recorded `verified` unless these writes commit with it, in one transaction.
 */
export interface InStoreRemoval {
  readonly changes: ChangeSet;
  /** What the writes remove, by handle, for the receipt. */
  readonly removed: readonly string[];
  /** The checks that prove removal once `changes` commit. */
  readonly evidence: RemovalEvidence;
}

export interface VerifyRequest {
  readonly grant: Grant;
  /**
   * The probe secret from `IssueResponse.probe`, opened from its seal; null when the connector gave none or the grant
   * never reached `active` (no credential was handed out, so there is nothing a caller could log in with).
   */
  readonly probe: Secret<string> | null;
}

export interface VerifyResponse {
  /** True only when every check saw the access gone. */
  readonly removed: boolean;
  readonly evidence: RemovalEvidence;
}

export interface AccountInfo {
  /** What a grant's `handle` would be for this account (user name, membership `login:role`…). */
  readonly handle: string;
  /** True when the account carries the broker's marker (prefix, comment), so the reconciler may remove it. */
  readonly managed: boolean;
  /** The target's own expiry of the account (`VALID UNTIL`), when it has one. */
  readonly expiresAt: Millis | null;
  /**
   * What the account may do, in the target's words, for the standing-privilege report: `superuser`, `createrole`,
   * `global: ALL PRIVILEGES`, `+@all`, `tag: administrator`, `member of app_rw`… Empty when it holds nothing notable.
   */
  readonly privileges: readonly string[];
  /** True when the privileges amount to administration of the target (superuser, all commands, admin tag…). */
  readonly admin: boolean;
  /** True for the account the broker itself connects as: reported, never removed. */
  readonly broker?: boolean;
}

export interface RotateResponse {
  readonly rotated: boolean;
  /** What was rotated and how it was checked; never the secret. */
  readonly detail: string;
}

/** A revoked certificate serial, listed until the certificate's own expiry ends it. */
export interface RevokedSerial {
  readonly serial: string;
  /** The CA that signed it: its CRL lists the serial. */
  readonly ca: string;
  readonly revokedAt: Millis;
  readonly notAfter: Millis;
}

/** What an x509 target publishes for relying parties (served under /.well-known/ephemera/x509/<target>/). */
export interface X509Publisher {
  /** PEM bundle of every published CA: the current one and retired ones whose certificates may still live. */
  caBundle(): Promise<string>;
  /** One CRL per published CA, PEM, concatenated: load it as a TLS server's `crl`. */
  crl(): Promise<string>;
  /** The deny-list as JSON: serials and until when they are listed. */
  revoked(): Promise<readonly RevokedSerial[]>;
}

export interface Connector {
  readonly type: string;
  readonly targetId: string;
  /**
   * True when `issue` makes nothing outside the broker's process (a signed token exists only in memory until it is
   * handed out). The broker then commits the grant, already active, in one transaction after `issue` returns: a crash
   * before that commit leaves nothing behind anywhere. False or absent for every connector that touches a target.
   */
  readonly issuesInProcess?: boolean;
  /**
   * True when the connector can bind a credential to a key the caller proved (`IssueRequest.binding`): a token's
   * `cnf.jkt`, a certificate for the caller's own public key. A proof sent for another connector is refused.
   */
  readonly bindsCredentials?: boolean;
  /** Checks an entitlement's settings at start; throws with a message naming the bad setting. */
  validateEntitlement(entitlement: EntitlementSpec): void;
  /** Chooses the downstream handle before anything is made downstream. Pure and local: no network. */
  prepare(request: PrepareRequest): { handle: string; handleData: Readonly<Record<string, unknown>> };
  issue(request: IssueRequest): Promise<IssueResponse>;
  renew(request: RenewRequest): Promise<RenewResponse>;
  /** Removes the access and says what it removed. Idempotent: access that is already gone is success. */
  revoke(request: RevokeRequest): Promise<RevokeResponse>;
  /** Proves the access is gone downstream: absent, no session, credential refused. */
  verifyRemoved(request: VerifyRequest): Promise<VerifyResponse>;
  /**
   * Only for connectors that issue in process and whose removal is a record in the broker's store: that record as
   * writes, so ending, removal and verification commit once. Pure: it reads and writes nothing itself.
   */
  revokeInStore?(request: RevokeRequest): InStoreRemoval;
  /**
   * What the broker's sightings of this target's use rest on, for the receipt's `usageObservation` and `unused`:
   * `definitive` only when the target records every use of the account (so a grant it never shows in use was not
   * used); `introspection` for tokens the broker sees when they are introspected. Absent: `polled` when the connector
   * has `observeUsage` (open sessions at each look), `none` otherwise. See `usageObservationOf`.
   */
  readonly usageObservation?: Exclude<UsageObservationMethod, "none" | "polled">;
  /**
   * Which of these grants the target shows in use right now (open sessions, connections), for first/last-used times
   * and the receipt's `unused`. Absent for connectors whose target cannot tell.
   */
  observeUsage?(grants: readonly Grant[]): Promise<readonly UsageSighting[]>;
  /** Accounts the broker can see in the target, for reconciliation and discovery. */
  listAccounts(): Promise<readonly AccountInfo[]>;
  /**
   * Removes a managed account no live grant holds (found by the reconciler), the way `revoke` would: sessions ended,
   * account gone. Idempotent. Resolves true when something was there to remove.
   */
  removeAccount(handle: string): Promise<boolean>;
  /** Rotates the target's admin secret where the target supports it. */
  rotateAdminSecret(): Promise<RotateResponse>;
  /** An x509 target's CA bundle and deny-list, which relying parties fetch without authentication. */
  readonly publisher?: X509Publisher;
  /** Readiness of the connection to the target. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** How the broker observes a connector's usage: its declared method, else `polled` when it can be asked, else `none`. */
export function usageObservationOf(connector: Connector | undefined): UsageObservationMethod {
  if (connector === undefined) return "none";
  return connector.usageObservation ?? (connector.observeUsage ? "polled" : "none");
}
