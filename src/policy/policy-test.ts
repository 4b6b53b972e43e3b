// `ephemera policy test`: runs a file of cases (who, what, context → expected decision, approval, maximum) against a
// policy folder, offline, so policies can be tested in CI before they reach a broker.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { EntitlementSpec } from "../connectors/index.js";
import type { ClientSignal, Identity, IdentityKind } from "../domain/index.js";
import { ADMIN_GROUP, formatDuration, intentOf, parseDuration } from "../domain/index.js";
import { formatApproval, parseApproval } from "./cedar/annotations.js";
import { CedarDecider } from "./cedar/cedar-decider.js";
import { loadPolicyFolder } from "./cedar/policy-set.js";
import { ACTION_RESOURCES, POLICY_ACTIONS, type PolicyAction, type PolicyResource } from "./decider.js";

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** What differed, one line each; empty when passed. */
  readonly mismatches: readonly string[];
  readonly decision: { outcome: string; approval: string; maxDuration: string | null; policies: readonly string[] };
}

export interface PolicyTestReport {
  readonly policyVersion: string;
  readonly policyDir: string;
  readonly results: readonly CaseResult[];
  readonly passed: number;
  readonly failed: number;
}

/** The case file or what it names is unusable; the message names the field. */
export class PolicyTestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyTestError";
  }
}

type Doc = Record<string, unknown>;

const CLIENT_KINDS: readonly ClientSignal["kind"][] = ["cli", "mcp", "browser", "tool", "api"];
const isRecord = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

function readYaml(path: string, what: string): Doc {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new PolicyTestError(`${what} ${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const doc = parseYaml(text) as unknown;
  if (!isRecord(doc)) throw new PolicyTestError(`${what} ${path}: not a YAML mapping`);
  return doc;
}

/** An identity as the broker reads it from config: the deprecated `admin: true` puts it in the admin group. */
function identityFrom(id: string, spec: unknown): Identity {
  const s = isRecord(spec) ? spec : {};
  const listed = strings(s.groups);
  const groups = s.admin === true && !listed.includes(ADMIN_GROUP) ? [...listed, ADMIN_GROUP] : listed;
  return {
    id,
    kind: (typeof s.kind === "string" ? s.kind : "workload") as IdentityKind,
    owner: typeof s.owner === "string" ? s.owner : null,
    groups,
    attributes: isRecord(s.attributes)
      ? Object.fromEntries(Object.entries(s.attributes).map(([k, v]) => [k, String(v)]))
      : {},
    status: s.status === "dormant" || s.status === "offboarded" ? s.status : "active",
    admin: groups.includes(ADMIN_GROUP),
  };
}

function seconds(value: unknown, at: string): number {
  const parsed = typeof value === "string" || typeof value === "number" ? parseDuration(value) : null;
  if (parsed === null) throw new PolicyTestError(`${at}: '${String(value)}' is not a duration`);
  return parsed;
}

/** Identities and entitlements as the broker's config declares them; secrets and connector settings are not read. */
function catalogFrom(
  config: Doc | null,
  cases: Doc,
): { identities: Map<string, Identity>; entitlements: Map<string, EntitlementSpec>; targets: Set<string> } {
  const identities = new Map<string, Identity>();
  const entitlements = new Map<string, EntitlementSpec>();
  const targets = new Set<string>();
  for (const source of [config, cases]) {
    if (!source) continue;
    for (const [id, spec] of Object.entries(isRecord(source.identities) ? source.identities : {})) {
      identities.set(id, identityFrom(id, spec));
    }
    for (const [targetId, target] of Object.entries(isRecord(source.targets) ? source.targets : {})) {
      targets.add(targetId);
      const ents = isRecord(target) && isRecord(target.entitlements) ? target.entitlements : {};
      for (const [name, e] of Object.entries(ents)) {
        const spec = isRecord(e) ? e : {};
        const max = seconds(spec.maxDuration ?? "1h", `targets.${targetId}.entitlements.${name}.maxDuration`);
        entitlements.set(`${targetId}/${name}`, {
          name: `${targetId}/${name}`,
          targetId,
          defaultDurationSeconds:
            spec.defaultDuration === undefined
              ? max
              : seconds(spec.defaultDuration, `${targetId}/${name}.defaultDuration`),
          maxDurationSeconds: max,
          risk: spec.risk === "medium" || spec.risk === "high" ? spec.risk : "low",
          settings: {},
        });
      }
    }
  }
  return { identities, entitlements, targets };
}

export interface PolicyTestOptions {
  /** The broker config whose identities, entitlements and policy folder the cases use; overrides the file's `config`. */
  readonly config?: string;
  /** The policy folder; overrides the file's `policies` and the config's. */
  readonly policies?: string;
}

export function runPolicyTests(file: string, options: PolicyTestOptions = {}): PolicyTestReport {
  const doc = readYaml(file, "case file");
  const here = dirname(resolve(file));
  const from = (base: string, p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const configPath = options.config ?? (typeof doc.config === "string" ? from(here, doc.config) : undefined);
  const config = configPath ? readYaml(configPath, "config") : null;
  // The config's own relative paths resolve from the current directory, as the broker resolves them.
  const configDir = process.cwd();
  const configPolicies = config?.policies;
  const policyDir =
    options.policies ??
    (typeof doc.policies === "string"
      ? from(here, doc.policies)
      : typeof configPolicies === "string"
        ? from(configDir, configPolicies)
        : isRecord(configPolicies) && typeof configPolicies.dir === "string"
          ? from(configDir, configPolicies.dir)
          : undefined);
  if (!policyDir)
    throw new PolicyTestError(
      "no policy folder: give --policies, `policies:` in the case file, or a config with `policies`",
    );
  const decider = new CedarDecider(loadPolicyFolder(policyDir));
  const catalog = catalogFrom(config, doc);
  if (!Array.isArray(doc.cases) || doc.cases.length === 0)
    throw new PolicyTestError(`${file}: 'cases' must be a non-empty list`);

  const results = doc.cases.map((raw, index) => runCase(raw, `cases.${index}`, catalog, decider));
  const passed = results.filter((r) => r.passed).length;
  return { policyVersion: decider.version, policyDir, results, passed, failed: results.length - passed };
}

/**
 * The resource a case's action is about: `entitlement` for the request path, revoke and review; `identity` (an id or an
 * inline identity) for offboard and reactivate; `target` for discover and rotate; none for read_audit, export_audit and
 * admin (the broker).
 */
function resourceOf(
  raw: Doc,
  action: PolicyAction,
  at: string,
  catalog: ReturnType<typeof catalogFrom>,
  lookup: (id: unknown, field: string) => Identity,
): PolicyResource {
  const { entitlements, targets } = catalog;
  switch (ACTION_RESOURCES[action]) {
    case "Entitlement": {
      const entitlement = typeof raw.entitlement === "string" ? entitlements.get(raw.entitlement) : undefined;
      if (!entitlement)
        throw new PolicyTestError(`${at}.entitlement: '${String(raw.entitlement)}' is not a configured entitlement`);
      return { type: "Entitlement", entitlement };
    }
    case "Identity":
      if (raw.identity === undefined) throw new PolicyTestError(`${at}.identity: required for ${action}`);
      return { type: "Identity", identity: lookup(raw.identity, "identity") };
    case "Target":
      if (typeof raw.target !== "string" || !targets.has(raw.target))
        throw new PolicyTestError(
          `${at}.target: '${String(raw.target)}' is not a configured target (${action} names one)`,
        );
      return { type: "Target", id: raw.target };
    case "Broker":
      return { type: "Broker" };
  }
}

function runCase(raw: unknown, at: string, catalog: ReturnType<typeof catalogFrom>, decider: CedarDecider): CaseResult {
  const { identities } = catalog;
  if (!isRecord(raw)) throw new PolicyTestError(`${at}: must be a mapping`);
  const name = typeof raw.name === "string" ? raw.name : at;
  const lookup = (id: unknown, field: string): Identity => {
    if (isRecord(id) && typeof id.id === "string") return identityFrom(id.id, id);
    const found = typeof id === "string" ? identities.get(id) : undefined;
    if (!found)
      throw new PolicyTestError(`${at}.${field}: '${String(id)}' is not an identity of the config or the case file`);
    return found;
  };
  const principal = lookup(raw.principal, "principal");
  const action = (raw.action ?? "request") as PolicyAction;
  if (!POLICY_ACTIONS.includes(action)) throw new PolicyTestError(`${at}.action: one of ${POLICY_ACTIONS.join(", ")}`);
  const resource = resourceOf(raw, action, at, catalog, lookup);
  const c = isRecord(raw.context) ? raw.context : {};
  const time = typeof c.time === "string" ? Date.parse(c.time) : Date.UTC(2026, 0, 5, 10, 0);
  if (Number.isNaN(time)) throw new PolicyTestError(`${at}.context.time: not an ISO time`);
  const client: ClientSignal = isRecord(c.client)
    ? {
        kind: CLIENT_KINDS.find((k) => isRecord(c.client) && k === c.client.kind) ?? "api",
        interactive: c.client.interactive === true,
        ...(typeof c.client.name === "string" ? { name: c.client.name } : {}),
        ...(typeof c.client.version === "string" ? { version: c.client.version } : {}),
        ...(typeof c.client.toolCallId === "string" ? { toolCallId: c.client.toolCallId } : {}),
        ...(c.client.reveal === true ? { reveal: true } : {}),
      }
    : { kind: "api", interactive: false };
  const decision = decider.decide({
    identity: principal,
    action,
    resource,
    durationSeconds:
      c.duration !== undefined
        ? seconds(c.duration, `${at}.context.duration`)
        : resource.type === "Entitlement"
          ? resource.entitlement.defaultDurationSeconds
          : 0,
    at: time,
    context: {
      justification: typeof c.justification === "string" ? c.justification : null,
      ticket: typeof c.ticket === "string" ? c.ticket : null,
      intent: intentOf(c.intent as Parameters<typeof intentOf>[0]),
      sourceAddress: typeof c.sourceAddress === "string" ? c.sourceAddress : null,
      authMethod: typeof c.authMethod === "string" ? c.authMethod : null,
      claims: isRecord(c.claims) ? c.claims : {},
      client,
      breakGlass: action === "break_glass" || c.breakGlass === true,
      requester: c.requester === undefined ? null : lookup(c.requester, "context.requester"),
    },
  });
  const got = {
    outcome: decision.outcome,
    approval: decision.outcome === "allow" ? formatApproval(decision.approvers ?? []) : "-",
    maxDuration: decision.maxDurationSeconds === null ? null : formatDuration(decision.maxDurationSeconds),
    policies: decision.determiningPolicies,
  };
  const expect = isRecord(raw.expect) ? raw.expect : {};
  const mismatches: string[] = [];
  if (expect.decision !== "allow" && expect.decision !== "deny")
    throw new PolicyTestError(`${at}.expect.decision: allow or deny`);
  if (expect.decision !== decision.outcome)
    mismatches.push(`decision: expected ${expect.decision}, got ${decision.outcome} (${decision.reason})`);
  if (expect.approval !== undefined) {
    const wanted = formatApproval(parseApproval(String(expect.approval)));
    if (wanted !== got.approval) mismatches.push(`approval: expected ${wanted}, got ${got.approval}`);
  }
  if (expect.maxDuration !== undefined) {
    const wanted = seconds(expect.maxDuration, `${at}.expect.maxDuration`);
    if (wanted !== decision.maxDurationSeconds) {
      mismatches.push(`maxDuration: expected ${formatDuration(wanted)}, got ${got.maxDuration ?? "none"}`);
    }
  }
  if (expect.policies !== undefined) {
    const wanted = strings(expect.policies).sort().join(", ");
    const actual = [...decision.determiningPolicies].sort().join(", ");
    if (wanted !== actual) mismatches.push(`policies: expected [${wanted}], got [${actual}]`);
  }
  if (expect.flags !== undefined) {
    const wanted = strings(expect.flags).sort().join(", ");
    const actual = [...(decision.flags ?? [])].sort().join(", ");
    if (wanted !== actual) mismatches.push(`flags: expected [${wanted}], got [${actual}]`);
  }
  return { name, passed: mismatches.length === 0, mismatches, decision: got };
}
