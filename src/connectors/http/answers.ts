// Reading the target's answers, without I/O: whether a check answer says the role is held, and which accounts and
// roles a listing holds. Messages quote statuses and configured pointers, never the answer's text.
import type { AccountInfo } from "../connector.js";
import type { CheckSpec, ListSpec } from "./settings.js";
import { SUBJECT_PATTERN } from "./settings.js";
import { jsonEqual, type TemplateValues } from "./template.js";

export interface Answer {
  readonly status: number;
  readonly body: Buffer;
  /** `METHOD /path` as sent (query hidden), for evidence and errors. */
  readonly shown: string;
}

const NO_VALUES: TemplateValues = { subject: "", role: "", grant: "" };

function statuses(set: ReadonlySet<number>): string {
  return [...set].join(", ");
}

/** The answer's JSON; a body that is not JSON is an error whose message leaves the body out (it may echo a token). */
export function parseBody(answer: Answer, where: string): unknown {
  try {
    return JSON.parse(answer.body.toString("utf8"));
  } catch {
    throw new Error(`${where}: ${answer.shown} answered with a body that is not JSON`);
  }
}

/** Whether the check answer says the subject holds the role. Throws when it says neither. */
export function readCheckAnswer(
  spec: CheckSpec,
  answer: Answer,
  values: TemplateValues,
  where: string,
): { held: boolean; observed: string } {
  const { status, shown } = answer;
  if (spec.absent.has(status)) return { held: false, observed: `${shown} answered ${status}: role not held` };
  if (!spec.present.has(status)) {
    throw new Error(
      `${where}: check call ${shown} answered HTTP ${status}, which is neither present (${statuses(spec.present)}) nor absent (${statuses(spec.absent) || "none"})`,
    );
  }
  const reading = spec.reading;
  if (reading.kind === "status") return { held: true, observed: `${shown} answered ${status}: role held` };
  const found = reading.pointer.resolve(parseBody(answer, where), values);
  const at = `${shown} answered ${status}; ${reading.pointer.text}`;
  if (reading.kind === "contains") {
    const item = reading.item.render(values);
    const held = Array.isArray(found) && found.includes(item);
    return { held, observed: `${at} ${held ? "contains" : "does not contain"} '${item}'` };
  }
  const held = jsonEqual(found, reading.value.render(values));
  return { held, observed: `${at} ${held ? "equals" : "does not equal"} the configured value` };
}

/**
 * One account entry per membership the listing shows. `managed` marks memberships of roles some entitlement hands
 * out (`elevationRoles`), which the reconciler may remove; the broker's own account is never managed.
 */
export function accountsOf(
  spec: ListSpec,
  answer: Answer,
  elevationRoles: ReadonlySet<string>,
  where: string,
): { accounts: AccountInfo[]; skipped: number } {
  if (!spec.ok.has(answer.status)) {
    throw new Error(
      `${where}: listAccounts call ${answer.shown} answered HTTP ${answer.status} (expected ${statuses(spec.ok)})`,
    );
  }
  const items = spec.items.resolve(parseBody(answer, where), NO_VALUES);
  if (!Array.isArray(items)) throw new Error(`${where}.listAccounts.items: does not name a list in the answer`);
  const accounts: AccountInfo[] = [];
  let skipped = 0;
  for (const item of items) {
    const subject = spec.subject.resolve(item, NO_VALUES);
    if (typeof subject !== "string" || subject === "") {
      skipped += 1;
      continue;
    }
    const value = spec.roles.resolve(item, NO_VALUES);
    const roles = typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
    const broker = spec.brokerSubject === subject;
    for (const role of roles) {
      if (typeof role !== "string") continue;
      accounts.push({
        handle: `${subject}:${role}`,
        managed: !broker && elevationRoles.has(role) && SUBJECT_PATTERN.test(subject),
        expiresAt: null,
        privileges: [`role ${role}`],
        admin: spec.adminRoles.has(role),
        ...(broker ? { broker: true } : {}),
      });
    }
  }
  return { accounts, skipped };
}
