// Annotations on permitting policies: who must approve, the longest grant, flags. Where several permits match, the
// strictest approval (every rule of every policy) and the shortest maximum win.

import type { ApprovalRule } from "../../domain/index.js";
import { mergeRules, parseDuration } from "../../domain/index.js";
import { isTimeZone } from "./request-shape.js";

export { formatApproval } from "../../domain/index.js";

/** What one policy's annotations say, parsed and checked at load. */
export interface PolicyTerms {
  /** null: no `@approval` (auto); otherwise the rules (empty for `"auto"`). */
  readonly approvers: readonly ApprovalRule[] | null;
  readonly maxDurationSeconds: number | null;
  readonly ownerMayApprove: boolean | null;
  readonly flag: string | null;
  /** The IANA zone `context.hour`, `minuteOfDay` and `weekday` are read in for this policy; null: UTC. */
  readonly timeZone: string | null;
}

export const KNOWN_ANNOTATIONS = [
  "id",
  "approval",
  "max_duration",
  "owner_may_approve",
  "flag",
  "description",
  "time_zone",
];

const RULE = /^\s*([1-9]\d{0,2})\s+from\s+Group::"([^"\\]{1,128})"\s*$/;

/** Parses `"auto"` or `N from Group::"g"` clauses joined by ` and `; throws with a message naming what is wrong. */
export function parseApproval(text: string): ApprovalRule[] {
  if (text.trim() === "auto") return [];
  const rules = new Map<string, number>();
  for (const clause of text.split(/\s+and\s+/)) {
    const match = RULE.exec(clause);
    if (!match) {
      throw new Error(`@approval("${text}"): expected "auto" or N from Group::"name" (clauses joined by " and ")`);
    }
    const group = match[2]!;
    rules.set(group, Math.max(rules.get(group) ?? 0, Number(match[1])));
  }
  return [...rules].map(([group, count]) => ({ group, count }));
}

export function parseTerms(annotations: Readonly<Record<string, string>>): PolicyTerms {
  const unknown = Object.keys(annotations).filter((name) => !KNOWN_ANNOTATIONS.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown annotation ${unknown.map((u) => `@${u}`).join(", ")} (known: ${KNOWN_ANNOTATIONS.map((k) => `@${k}`).join(", ")})`,
    );
  }
  let maxDurationSeconds: number | null = null;
  if (annotations.max_duration !== undefined) {
    maxDurationSeconds = parseDuration(annotations.max_duration);
    if (maxDurationSeconds === null || maxDurationSeconds <= 0) {
      throw new Error(`@max_duration("${annotations.max_duration}"): not a positive duration (90s, 15m, 1h30m, 2d)`);
    }
  }
  let ownerMayApprove: boolean | null = null;
  if (annotations.owner_may_approve !== undefined) {
    if (annotations.owner_may_approve !== "true" && annotations.owner_may_approve !== "false") {
      throw new Error(`@owner_may_approve("${annotations.owner_may_approve}"): must be "true" or "false"`);
    }
    ownerMayApprove = annotations.owner_may_approve === "true";
  }
  const flag = annotations.flag ?? null;
  if (flag !== null && !/^[a-z0-9_.-]{1,64}$/.test(flag)) {
    throw new Error(`@flag("${flag}"): use lower-case letters, digits, _ . - (at most 64)`);
  }
  const timeZone = annotations.time_zone ?? null;
  if (timeZone !== null && !isTimeZone(timeZone)) {
    throw new Error(`@time_zone("${timeZone}"): not a time zone; use an IANA name such as "Europe/Berlin" or "UTC"`);
  }
  return {
    approvers: annotations.approval === undefined ? null : parseApproval(annotations.approval),
    maxDurationSeconds,
    ownerMayApprove,
    flag,
    timeZone,
  };
}

/** Combines the terms of every permitting policy: all approval rules (highest count per group), shortest maximum. */
export function strictest(terms: readonly PolicyTerms[]): {
  approvers: ApprovalRule[];
  maxDurationSeconds: number | null;
  ownerMayApprove: boolean;
  flags: string[];
} {
  let max: number | null = null;
  let ownerMayApprove = true;
  const flags = new Set<string>();
  for (const t of terms) {
    if (t.maxDurationSeconds !== null) max = max === null ? t.maxDurationSeconds : Math.min(max, t.maxDurationSeconds);
    if (t.ownerMayApprove === false) ownerMayApprove = false;
    if (t.flag !== null) flags.add(t.flag);
  }
  return {
    approvers: mergeRules(...terms.map((t) => t.approvers ?? [])),
    maxDurationSeconds: max,
    ownerMayApprove,
    flags: [...flags].sort(),
  };
}
