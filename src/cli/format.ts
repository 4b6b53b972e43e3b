// Human output of the CLI: aligned tables, KEY=value credential lines and a grant's details.
import { InvalidArgumentError } from "commander";
import type { Grant } from "../client/index.js";

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `KEY=value`, quoting values a shell or a reader would split (spaces, newlines, quotes). */
export function assignment(key: string, value: string): string {
  return /^[A-Za-z0-9_@%+=:,./~-]*$/.test(value) ? `${key}=${value}` : `${key}=${JSON.stringify(value)}`;
}

export function assignments(values: Readonly<Record<string, string>>): string[] {
  return Object.entries(values).map(([k, v]) => assignment(k, v));
}

export function grantDetails(grant: Grant): string {
  const rows: [string, string][] = [
    ["id", grant.id],
    ["entitlement", grant.entitlement],
    ["identity", grant.identity],
    ["state", grant.state],
    ["removed", grant.removed ? "yes (verified)" : "no"],
    ["handle", grant.handle],
    ["request", grant.requestId],
    ["issued", grant.issuedAt ?? "-"],
    ["expires", grant.expiresAt ?? "-"],
    ["max expires", grant.maxExpiresAt ?? "-"],
    ["renewals", String(grant.renewals)],
  ];
  if (grant.endReason !== null)
    rows.push(["ended", `${grant.endedAt ?? "-"} (${grant.endReason} by ${grant.endedBy ?? "-"})`]);
  if (grant.verifiedAt !== null) rows.push(["verified", grant.verifiedAt]);
  if (grant.lastError !== null)
    rows.push(["last error", `${grant.lastError} (after ${grant.removalAttempts} attempts)`]);
  for (const check of grant.evidence?.checks ?? []) {
    rows.push(["evidence", `${check.passed ? "pass" : "FAIL"} ${check.check}: ${check.observed}`]);
  }
  const receipt = grant.receipt;
  if (receipt) {
    rows.push(["removed items", receipt.removed.length > 0 ? receipt.removed.join(", ") : "none (already gone)"]);
    if (receipt.sessionsEnded) {
      const ids = receipt.sessionsEnded.ids.slice(0, 10).join(", ");
      rows.push(["sessions ended", `${receipt.sessionsEnded.count}${ids ? ` (${ids})` : ""}`]);
    }
    const used = receipt.unused === null ? "not observable" : receipt.unused ? "never" : "yes";
    rows.push([
      "used",
      `${used}${receipt.firstUsedAt ? `, first ${receipt.firstUsedAt}, last ${receipt.lastUsedAt}` : ""}`,
    ]);
    // Older brokers' receipts carry no usageObservation.
    if (receipt.usageObservation) {
      rows.push(["usage observed", `${receipt.usageObservation.method}: ${receipt.usageObservation.detail}`]);
    }
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`).join("\n");
}

/** One line on how a grant ended: removal verified, or what is still pending. */
export function endSummary(grant: Grant, verb: string): string {
  if (grant.removed) return `grant ${grant.id} ${verb}; removal verified at ${grant.verifiedAt ?? "?"}`;
  const why = grant.lastError ? `: ${grant.lastError}` : "";
  return `grant ${grant.id} ${verb}; removal NOT verified yet (state ${grant.state}${why}); the broker keeps retrying`;
}

/** Commander parser for whole-number options. */
export function integerOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Durations are sent as given ("15m", "1h30m") or as whole seconds when numeric. */
export function durationOf(value: string | undefined): string | number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value;
}
