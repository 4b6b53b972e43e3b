// Builds the Cedar request for one decision: principal, action, resource, context and only the entities it needs.
import type { EntitlementSpec } from "../../connectors/index.js";
import type { Identity, Millis } from "../../domain/index.js";
import { ownsIdentity } from "../../domain/index.js";
import { BROKER_ID, type DecisionInput, type PolicyResource } from "../decider.js";

type CedarValue =
  | string
  | number
  | boolean
  | CedarValue[]
  | { [key: string]: CedarValue }
  | { __entity: { type: string; id: string } }
  | { __extn: { fn: string; arg: string } };

export interface CedarEntity {
  readonly uid: { type: string; id: string };
  readonly attrs: Record<string, CedarValue>;
  readonly parents: { type: string; id: string }[];
  readonly tags?: Record<string, string>;
}

export interface CedarRequest {
  readonly principal: { type: "Identity"; id: string };
  readonly action: { type: "Action"; id: string };
  readonly resource: { type: PolicyResource["type"]; id: string };
  readonly context: Record<string, CedarValue>;
  readonly entities: CedarEntity[];
}

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const CLAIMS_ID = "request";

function identityEntity(identity: Identity): CedarEntity {
  return {
    uid: { type: "Identity", id: identity.id },
    attrs: { kind: identity.kind, owner: identity.owner ?? "", status: identity.status, admin: identity.admin },
    parents: identity.groups.map((g) => ({ type: "Group", id: g })),
    tags: { ...identity.attributes },
  };
}

function entitlementEntity(entitlement: EntitlementSpec): CedarEntity {
  return {
    uid: { type: "Entitlement", id: entitlement.name },
    attrs: {
      name: entitlement.name,
      target: entitlement.targetId,
      risk: entitlement.risk,
      maxDurationSeconds: entitlement.maxDurationSeconds,
    },
    parents: [{ type: "Target", id: entitlement.targetId }],
  };
}

/** Claims as Cedar tags: strings as they are, anything else as its JSON text. */
function claimTags(claims: Readonly<Record<string, unknown>>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined) continue;
    tags[name] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return tags;
}

/** An address Cedar's `ip()` accepts (no IPv4-mapped IPv6 prefix, no zone), or null. */
function cedarAddress(address: string | null): string | null {
  if (address === null || address === "") return null;
  const plain = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
  return /^[0-9a-fA-F:.]+$/.test(plain) ? plain : null;
}

/** The entity a decision is about, and its id. */
function resourceEntity(resource: PolicyResource): CedarEntity {
  switch (resource.type) {
    case "Entitlement":
      return entitlementEntity(resource.entitlement);
    case "Identity":
      return identityEntity(resource.identity);
    case "Target":
      return { uid: { type: "Target", id: resource.id }, attrs: {}, parents: [] };
    case "Broker":
      return { uid: { type: "Broker", id: BROKER_ID }, attrs: {}, parents: [] };
  }
}

export interface TimeFacts {
  readonly now: number;
  readonly hour: number;
  readonly minuteOfDay: number;
  readonly weekday: string;
}

/** One formatter per zone: building one is the expensive part of Intl. */
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(zone: string): Intl.DateTimeFormat {
  let format = zoneFormats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      weekday: "short",
      hour: "numeric",
      minute: "numeric",
    });
    zoneFormats.set(zone, format);
  }
  return format;
}

/** True when `zone` is a time zone Intl knows (an IANA name such as `Europe/Berlin`, or `UTC`). */
export function isTimeZone(zone: string): boolean {
  try {
    zoneFormat(zone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The wall clock at `at`: in UTC, or in an IANA `zone`, where Intl applies the zone's offset and daylight saving
 * for that instant. The instant is given, never read.
 */
export function timeFacts(at: Millis, zone: string | null = null): TimeFacts {
  const now = Math.floor(at / 1000);
  if (zone === null) {
    const date = new Date(at);
    const hour = date.getUTCHours();
    return { now, hour, minuteOfDay: hour * 60 + date.getUTCMinutes(), weekday: WEEKDAYS[date.getUTCDay()]! };
  }
  let hour = 0;
  let minute = 0;
  let weekday = "";
  for (const part of zoneFormat(zone).formatToParts(at)) {
    if (part.type === "hour") hour = Number(part.value);
    else if (part.type === "minute") minute = Number(part.value);
    else if (part.type === "weekday") weekday = part.value.toLowerCase();
  }
  return { now, hour, minuteOfDay: hour * 60 + minute, weekday };
}

/** The context fields and entities policies can read, for `needs` below. */
export const CONTEXT_FIELDS = [
  "durationSeconds",
  "ticket",
  "justification",
  "intent",
  "claims",
  "authMethod",
  "sourceAddress",
  "client",
  "breakGlass",
  "now",
  "hour",
  "minuteOfDay",
  "weekday",
  "requester",
  "principalOwnsRequester",
] as const;

/** What some policies read: context fields (null: all of them), and whether claims and the requester are read. */
export interface Needs {
  readonly context: ReadonlySet<string> | null;
}

export const EVERYTHING: Needs = { context: null };

/**
 * What a policy's text can read. Sound by construction: a field counts as read when its name appears anywhere in the
 * text (Cedar has no computed attribute names), and a bare `context` (the whole record) reads everything.
 */
export function needsOf(texts: readonly string[]): Needs {
  const fields = new Set<string>();
  for (const text of texts) {
    if (/\bcontext\b(?!\s*(\.|\[|has\b))/.test(text)) return EVERYTHING;
    for (const field of CONTEXT_FIELDS) if (text.includes(field)) fields.add(field);
  }
  return { context: fields };
}

/**
 * The Cedar request for one decision. With `needs`, context fields and entities no policy of the slice reads are left
 * out: each costs a conversion into the engine, and an unread one cannot change the decision.
 */
export function buildCedarRequest(
  input: DecisionInput,
  needs: Needs = EVERYTHING,
  timeZone: string | null = null,
): CedarRequest {
  const c = input.context;
  const wants = (field: string) => needs.context === null || needs.context.has(field);
  const requester = c.requester ?? input.identity;
  const resource = resourceEntity(input.resource);
  const entities = [identityEntity(input.identity)];
  const sameAs = (e: CedarEntity, i: Identity) => e.uid.type === "Identity" && e.uid.id === i.id;
  if (!sameAs(resource, input.identity)) entities.push(resource);
  if (requester.id !== input.identity.id && !sameAs(resource, requester) && wants("requester")) {
    entities.push(identityEntity(requester));
  }
  if (wants("claims"))
    entities.push({ uid: { type: "Claims", id: CLAIMS_ID }, attrs: {}, parents: [], tags: claimTags(c.claims) });
  const address = cedarAddress(c.sourceAddress);
  const intent = c.intent;
  const context: Record<string, CedarValue> = {
    durationSeconds: input.durationSeconds,
    ticket: c.ticket ?? "",
    justification: c.justification ?? "",
    intent: {
      task: intent?.task ?? "",
      actions: [...(intent?.actions ?? [])],
      description: intent?.description ?? "",
    },
    claims: { __entity: { type: "Claims", id: CLAIMS_ID } },
    authMethod: c.authMethod ?? "",
    client: {
      kind: c.client?.kind ?? "api",
      interactive: c.client?.interactive ?? false,
      name: c.client?.name ?? "",
      version: c.client?.version ?? "",
      toolCallId: c.client?.toolCallId ?? "",
      reveal: c.client?.reveal ?? false,
    },
    breakGlass: c.breakGlass ?? false,
    ...timeFacts(input.at ?? 0, timeZone),
    requester: { __entity: { type: "Identity", id: requester.id } },
    principalOwnsRequester: requester.id !== input.identity.id && ownsIdentity(input.identity, requester),
  };
  if (address !== null) context.sourceAddress = { __extn: { fn: "ip", arg: address } };
  if (needs.context !== null) {
    for (const field of Object.keys(context)) if (!needs.context.has(field)) delete context[field];
  }
  return {
    principal: { type: "Identity", id: input.identity.id },
    action: { type: "Action", id: input.action },
    resource: resource.uid as CedarRequest["resource"],
    context,
    entities,
  };
}
