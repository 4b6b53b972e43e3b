// The downstream issue call both issue paths make: the credential and merged handle data, or the failure to record.
import type { Connector, CredentialBinding, EntitlementSpec, IssuedCredential } from "../../connectors/index.js";
import type { Grant, Identity, Intent } from "../../domain/index.js";
import type { Secret } from "../../support/index.js";
import { describeError, EphemeraError } from "../../support/index.js";

export type IssueOutcome =
  | {
      readonly ok: true;
      readonly credential: IssuedCredential;
      readonly handleData: Grant["handleData"];
      readonly probe: Secret<string> | null;
    }
  | { readonly ok: false; readonly reason: string; readonly error: EphemeraError };

export async function callIssue(
  connector: Connector,
  grant: Grant,
  identity: Identity,
  entitlement: EntitlementSpec,
  extras: { readonly intent?: Intent | null; readonly binding?: CredentialBinding | null } = {},
): Promise<IssueOutcome> {
  try {
    const response = await connector.issue({
      grant,
      identity,
      entitlement,
      expiresAt: grant.expiresAt,
      intent: extras.intent ?? null,
      ...(extras.binding ? { binding: extras.binding } : {}),
    });
    return {
      ok: true,
      credential: response.credential,
      handleData: { ...grant.handleData, ...response.handleData },
      probe: response.probe ?? null,
    };
  } catch (error) {
    const reason = describeError(error);
    return {
      ok: false,
      reason,
      error: new EphemeraError("downstream_unavailable", `target '${grant.targetId}' could not issue the credential`, {
        detail: reason,
        cause: error,
      }),
    };
  }
}
