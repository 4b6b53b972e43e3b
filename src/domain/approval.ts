// Pure rules of the approval stage: the hash an approval binds to, which approvals count, and when a quorum is met.
import { createHash } from "node:crypto";
import type { AccessRequest, Approval, ApprovalRule, Identity, Intent } from "./types.js";

/** What an approver sees and approves: every field that changes what would be issued. */
export function requestHash(request: AccessRequest): string {
  const bound = {
    id: request.id,
    revision: request.revision,
    identity: request.identityId,
    entitlement: request.entitlement,
    durationSeconds: request.durationSeconds,
    justification: request.justification,
    ticket: request.ticket,
    intent: request.intent,
    breakGlass: request.breakGlass,
  };
  return `sha256:${createHash("sha256").update(JSON.stringify(bound)).digest("hex")}`;
}

/** Approvals given for the request as it is now; approvals of an earlier revision are void. */
export function liveApprovals(request: AccessRequest): readonly Approval[] {
  const hash = requestHash(request);
  return request.approvals.filter((a) => a.requestHash === hash);
}

/** Every rule of every requirement: the highest count per group (the strictest approval wins). */
export function mergeRules(...requirements: readonly (readonly ApprovalRule[])[]): ApprovalRule[] {
  const rules = new Map<string, number>();
  for (const requirement of requirements) {
    for (const rule of requirement) rules.set(rule.group, Math.max(rules.get(rule.group) ?? 0, rule.count));
  }
  return [...rules].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, count]) => ({ group, count }));
}

/** The approval requirement as people write it: `auto`, or `2 from Group::"sre" and 1 from Group::"security"`. */
export function formatApproval(rules: readonly ApprovalRule[]): string {
  return rules.length === 0 ? "auto" : rules.map((r) => `${r.count} from Group::"${r.group}"`).join(" and ");
}

/**
 * Whether the approvals meet every rule. Each approver counts once per rule, and one approver may not fill two
 * rules' seats unless they are in both groups (a member of `sre` and `security` counts for both, as Teleport does).
 */
export function quorumMet(rules: readonly ApprovalRule[], approvals: readonly Approval[]): boolean {
  return rules.every(
    (rule) => new Set(approvals.filter((a) => a.groups.includes(rule.group)).map((a) => a.approver)).size >= rule.count,
  );
}

/** Why `approver` may not approve `requester`'s request, or null: separation of duties is code, not policy. */
export function separationOfDuties(approver: Identity, requester: Identity, ownerMayApprove: boolean): string | null {
  if (approver.id === requester.id) return "no one approves their own request";
  if (!ownerMayApprove && requester.kind !== "human" && ownsIdentity(approver, requester)) {
    return `policy does not let the owner of '${requester.id}' approve its requests`;
  }
  return null;
}

/** True when `person` is the owner of `identity`, directly or through a group named as its owner. */
export function ownsIdentity(person: Identity, identity: Identity): boolean {
  return identity.owner !== null && (identity.owner === person.id || person.groups.includes(identity.owner));
}

/** An intent as callers send it: free text (kept for compatibility) or a task id with the actions it needs. */
export type IntentInput = string | { task?: string; actions?: readonly string[]; description?: string };

/** An intent from what a caller sent: a plain string (kept for compatibility) or `{task, actions, description}`. */
export function intentOf(input: IntentInput | undefined | null): Intent | null {
  if (input === undefined || input === null) return null;
  if (typeof input === "string") return input === "" ? null : { task: null, actions: [], description: input };
  return {
    task: input.task ?? null,
    actions: [...new Set(input.actions ?? [])].sort(),
    description: input.description ?? null,
  };
}

/** Actions asked for that the granted intent does not cover; empty when the ask stays inside it. */
export function actionsOutside(granted: Intent | null, asked: Intent | null): readonly string[] {
  if (asked === null) return [];
  const allowed = new Set(granted?.actions ?? []);
  const outside = asked.actions.filter((a) => !allowed.has(a));
  if (granted !== null && asked.task !== null && granted.task !== asked.task) return [`task:${asked.task}`, ...outside];
  return outside;
}
