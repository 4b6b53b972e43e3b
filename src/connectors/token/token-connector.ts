// The `token` connector: access to an internal API as a broker-signed JWT; removal is the deny-list plus the token's own `exp`.
import type { Grant, Intent, Millis, RemovalEvidence } from "../../domain/index.js";
import type { ChangeSet } from "../../storage/index.js";
import { Secret } from "../../support/index.js";
import type { RevokedEntry, RevokeInput, SignedToken, TokenClaimsInput } from "../../tokens/index.js";
import type { Connector, EntitlementSpec, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { entitlementPath, parseEntitlementSettings, parseTargetSettings } from "./settings.js";

/** What the token connector uses of the broker's token authority: sign, put on the deny-list and read it back, rotate. */
export interface TokenSigner {
  /** No token lives longer: an entitlement's maximum duration must not exceed it. */
  readonly maxTokenLifetimeSeconds: number;
  /** True once a signing key is loaded. */
  readonly ready: boolean;
  sign(input: TokenClaimsInput, expiresAt: Millis): Promise<SignedToken>;
  /** Already revoked is success. */
  revoke(input: RevokeInput): Promise<{ readonly alreadyRevoked: boolean }>;
  /** The deny-list row and its audit event as a change set, written by the caller with its own writes. */
  revocation(input: RevokeInput): { readonly entry: RevokedEntry; readonly changes: ChangeSet };
  /** The deny-list row as the store holds it, bypassing any cache. */
  revocationOf(jti: string): Promise<RevokedEntry | null>;
  /** Makes a new signing key and retires the others; returns the new kid. */
  rotate(reason: string): Promise<string>;
}

/** A token target's context: the shared one and the broker's token authority, through the port it uses. */
export interface TokenConnectorContext extends ConnectorContext {
  readonly tokenAuthority: TokenSigner;
}

function credentialOf(signed: SignedToken): IssuedCredential {
  return {
    fields: new Secret({
      token: signed.token,
      // A bound token is presented as `Authorization: DPoP <token>` with a fresh proof (RFC 9449 §7.1).
      tokenType: signed.claims.cnf ? "DPoP" : "Bearer",
      expiresAt: new Date(signed.claims.exp * 1000).toISOString(),
    }),
    env: new Secret({ EPHEMERA_ACCESS_TOKEN: signed.token }),
  };
}

/**
 * The latest `exp` any token of this grant can carry. `maxExpiresAt` rather than `expiresAt`: if a renewal signed a
 * token but its grant update was lost, `expiresAt` would understate it, and removal must never rest on an understatement.
 */
function latestPossibleExpiry(grant: Grant): Millis {
  return Math.max(grant.expiresAt, grant.maxExpiresAt);
}

function iso(ms: Millis): string {
  return new Date(ms).toISOString();
}

export function createTokenConnector(target: TargetSpec, ctx: TokenConnectorContext): Connector {
  const { audience } = parseTargetSettings(target.id, target.settings);
  const authority = ctx.tokenAuthority;

  async function signFor(
    grant: Grant,
    identityId: string,
    entitlement: EntitlementSpec,
    expiresAt: Millis,
    options: { readonly jkt: string | undefined; readonly intent: Intent | null | undefined },
  ): Promise<SignedToken> {
    const { scopes } = parseEntitlementSettings(entitlement);
    const intent = options.intent;
    // The task's intent travels with the token (RFC 9396), so the resource server can hold the agent to it.
    const details =
      intent && (intent.task !== null || intent.actions.length > 0)
        ? [
            {
              type: "ephemera_task" as const,
              ...(intent.task === null ? {} : { task: intent.task }),
              actions: [...intent.actions],
              entitlement: entitlement.name,
            },
          ]
        : undefined;
    // jti is the handle, which `prepare` made the grant id: introspection looks the grant up by it.
    return authority.sign(
      {
        aud: audience,
        sub: identityId,
        scope: scopes.join(" "),
        jti: grant.handle,
        ent: entitlement.name,
        jkt: options.jkt,
        ...(details ? { authorization_details: details } : {}),
      },
      expiresAt,
    );
  }

  /** The key a grant's tokens are bound to: from the issue request, then kept in handle data for renewals. */
  const boundKey = (grant: Grant): string | undefined =>
    typeof grant.handleData.jkt === "string" ? grant.handleData.jkt : undefined;

  return {
    type: "token",
    targetId: target.id,
    // A token exists only in this process until the broker hands it out, so issuing needs one durable write.
    issuesInProcess: true,
    // Use is seen when a resource server introspects the token; one verifying it offline is never seen.
    usageObservation: "introspection",
    bindsCredentials: true,

    validateEntitlement(entitlement) {
      parseEntitlementSettings(entitlement);
      if (entitlement.maxDurationSeconds > authority.maxTokenLifetimeSeconds) {
        // The key ring keeps a retired key published for the maximum token lifetime; a longer grant would outlive it.
        throw new Error(
          `${entitlementPath(entitlement)}.maxDuration: must not exceed the token authority's maximum token lifetime (${authority.maxTokenLifetimeSeconds}s)`,
        );
      }
    },

    prepare({ grantId }) {
      return { handle: grantId, handleData: {} };
    },

    async issue({ grant, identity, entitlement, expiresAt, binding, intent }) {
      const signed = await signFor(grant, identity.id, entitlement, expiresAt, { jkt: binding?.jkt, intent });
      return {
        credential: credentialOf(signed),
        handleData: binding ? { kid: signed.kid, jkt: binding.jkt } : { kid: signed.kid },
      };
    },

    async renew({ grant, identity, entitlement, expiresAt, intent }) {
      // A JWT carries its expiry, so renewal is a fresh token with the same jti; the old one lapses at its own exp.
      const jkt = boundKey(grant);
      const signed = await signFor(grant, identity.id, entitlement, expiresAt, { jkt, intent });
      return { credential: credentialOf(signed), handleData: jkt ? { kid: signed.kid, jkt } : { kid: signed.kid } };
    },

    async revoke({ grant }) {
      const { alreadyRevoked } = await authority.revoke({
        jti: grant.handle,
        expiresAt: latestPossibleExpiry(grant),
        grantId: grant.id,
        identityId: grant.identityId,
      });
      return { removed: alreadyRevoked ? [] : [`token jti ${grant.handle}`], sessionsEnded: null };
    },

    revokeInStore({ grant }) {
      const { entry, changes } = authority.revocation({
        jti: grant.handle,
        expiresAt: latestPossibleExpiry(grant),
        grantId: grant.id,
        identityId: grant.identityId,
      });
      // What introspection checks is the row these writes put; it commits with the grant's record, or neither does.
      const check = {
        check: "token.denylist",
        passed: true,
        observed: `jti ${grant.handle} on the deny-list from ${iso(entry.revokedAt)} until ${iso(entry.expiresAt)}, committed with this record`,
      };
      return {
        changes,
        removed: [`token jti ${grant.handle}`],
        evidence: { checkedAt: entry.revokedAt, checks: [check] },
      };
    },

    async verifyRemoved({ grant }) {
      // The checks introspection makes, read from the store (not this replica's cache). Either one refuses the
      // token on its own, so the evidence lists the one that proves removal, or both when neither does yet.
      const checkedAt = ctx.clock.now();
      const entry = await authority.revocationOf(grant.handle);
      const expiry = latestPossibleExpiry(grant);
      const denylist = {
        check: "token.denylist",
        passed: entry !== null,
        observed: entry
          ? `jti ${grant.handle} on the deny-list since ${iso(entry.revokedAt)}, kept until ${iso(entry.expiresAt)}`
          : `jti ${grant.handle} not on the deny-list`,
      };
      const expired = {
        check: "token.expiry",
        passed: checkedAt >= expiry,
        observed: `no token of this grant is valid after ${iso(expiry)}; checked at ${iso(checkedAt)}`,
      };
      const checks = denylist.passed ? [denylist] : expired.passed ? [expired] : [denylist, expired];
      const evidence: RemovalEvidence = { checkedAt, checks };
      return { removed: checks.every((c) => c.passed), evidence };
    },

    async listAccounts() {
      // Tokens are not accounts: nothing lives in the target to reconcile. Expiry and the deny-list cover removal.
      return [];
    },

    async removeAccount() {
      return false;
    },

    async rotateAdminSecret() {
      const kid = await authority.rotate(`requested through target ${target.id}`);
      return {
        rotated: true,
        detail: `token signing key rotated (new kid ${kid}); the key ring is shared by every token target`,
      };
    },

    async healthy() {
      return authority.ready;
    },

    async close() {},
  };
}
