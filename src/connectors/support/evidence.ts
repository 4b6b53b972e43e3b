// Removal evidence: each check names what was looked at and what was seen, so an auditor can read the proof.
import type { Grant, RemovalEvidence } from "../../domain/index.js";
import type { Secret } from "../../support/index.js";
import { describeError } from "../../support/index.js";

export type Check = RemovalEvidence["checks"][number];

export function check(name: string, passed: boolean, observed: string): Check {
  return { check: name, passed, observed };
}

export function evidenceOf(
  checkedAt: number,
  checks: readonly Check[],
): { removed: boolean; evidence: RemovalEvidence } {
  return { removed: checks.length > 0 && checks.every((c) => c.passed), evidence: { checkedAt, checks } };
}

/** What a login attempt with the issued credential did. */
export type LoginOutcome =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly refusal: string }
  /** The target could not be asked (connection refused, timeout): proves nothing either way. */
  | { readonly accepted: null; readonly error: string };

/**
 * The `login.refused` check: a login with the issued secret must be refused by the target. Without a probe secret the
 * check passes only for a grant that never reached `active`, because then no credential was ever handed out.
 */
export async function loginRefusedCheck(
  grant: Grant,
  probe: Secret<string> | null,
  attempt: (secret: string) => Promise<LoginOutcome>,
): Promise<Check> {
  if (probe === null) {
    return grant.issuedAt === null
      ? check("login.refused", true, "no credential was handed out for this grant (it never became active)")
      : check("login.refused", false, "the probe secret for this grant is missing, so a login could not be tried");
  }
  let outcome: LoginOutcome;
  try {
    outcome = await attempt(probe.reveal());
  } catch (error) {
    outcome = { accepted: null, error: describeError(error) };
  }
  if (outcome.accepted === true) return check("login.refused", false, "a login with the issued credential succeeded");
  if (outcome.accepted === null) {
    return check("login.refused", false, `a login with the issued credential could not be tried: ${outcome.error}`);
  }
  return check("login.refused", true, `a login with the issued credential was refused: ${outcome.refusal}`);
}
