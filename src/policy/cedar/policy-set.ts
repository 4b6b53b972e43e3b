// Loads a folder of Cedar policies: parsed, annotated, validated against the broker's schema, or refused whole.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { type PolicyTerms, parseTerms } from "./annotations.js";
import { CEDAR_SCHEMA } from "./schema.js";
import { type PolicyScope, scopeOf } from "./scope.js";

export interface CompiledPolicy {
  readonly id: string;
  readonly file: string;
  readonly effect: "permit" | "forbid";
  readonly text: string;
  readonly scope: PolicyScope;
  readonly terms: PolicyTerms;
}

export interface CompiledPolicySet {
  /** `cedar:` and the first 12 hex digits of a SHA-256 over every file's name and content. */
  readonly version: string;
  readonly policies: readonly CompiledPolicy[];
  readonly files: readonly string[];
}

/** The policy folder cannot be used; `problems` names each file and policy at fault. The old set stays in force. */
export class PolicyLoadError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`policies in ${source} were not loaded:\n  ${problems.join("\n  ")}`);
    this.name = "PolicyLoadError";
  }
}

function messages(errors: readonly cedar.DetailedError[]): string {
  return errors.map((e) => e.message + (e.help ? ` (${e.help})` : "")).join("; ");
}

/** The 1-based line of a character offset in a text. */
function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Compiles policy files given as `[name, text]`, in name order. Throws PolicyLoadError listing every problem. */
export function compilePolicies(source: string, files: readonly (readonly [string, string])[]): CompiledPolicySet {
  const problems: string[] = [];
  const policies: CompiledPolicy[] = [];
  const ids = new Set<string>();
  const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash("sha256");
  for (const [name, text] of sorted) {
    hash.update(`${name}\0${text}\0`);
    const parts = cedar.policySetTextToParts(text);
    if (parts.type === "failure") {
      const where = parts.errors[0]?.sourceLocations?.[0];
      problems.push(`${name}${where ? `:${lineOf(text, where.start)}` : ""}: ${messages(parts.errors)}`);
      continue;
    }
    if (parts.policy_templates.length > 0) {
      problems.push(`${name}: templates (policies with ?principal or ?resource) are not supported`);
      continue;
    }
    parts.policies.forEach((policyText, index) => {
      const json = cedar.policyToJson(policyText);
      if (json.type === "failure") {
        problems.push(`${name} policy ${index}: ${messages(json.errors)}`);
        return;
      }
      const annotations = json.json.annotations ?? {};
      const id = annotations.id ?? `${name}#${index}`;
      if (ids.has(id)) {
        problems.push(`${name} policy ${index}: id '${id}' is used twice`);
        return;
      }
      ids.add(id);
      try {
        policies.push({
          id,
          file: name,
          effect: json.json.effect,
          text: policyText,
          scope: scopeOf(json.json),
          terms: parseTerms(annotations),
        });
      } catch (error) {
        problems.push(`${name} policy '${id}': ${(error as Error).message}`);
      }
    });
  }
  if (problems.length === 0 && policies.length > 0) {
    const answer = cedar.validate({
      schema: CEDAR_SCHEMA,
      policies: { staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])) },
      validationSettings: { mode: "strict" },
    });
    if (answer.type === "failure") problems.push(`schema: ${messages(answer.errors)}`);
    else for (const e of answer.validationErrors) problems.push(`policy '${e.policyId}': ${messages([e.error])}`);
  }
  if (problems.length > 0) throw new PolicyLoadError(source, problems);
  return {
    version: `cedar:${hash.digest("hex").slice(0, 12)}`,
    policies,
    files: sorted.map(([name]) => name),
  };
}

let builtInSchemaJson: string | null = null;

function schemaJson(text: string): string | null {
  const answer = cedar.schemaToJson(text);
  return answer.type === "success" ? JSON.stringify(answer.json) : null;
}

/**
 * Reads every `*.cedar` file of a folder. A `*.cedarschema` file there (kept for editors and CI) must describe the
 * broker's schema: the broker builds the request, so a different schema would validate policies against a lie.
 */
export function loadPolicyFolder(dir: string): CompiledPolicySet {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new PolicyLoadError(dir, [`cannot read the folder: ${(error as NodeJS.ErrnoException).code ?? "error"}`]);
  }
  const problems: string[] = [];
  const files: [string, string][] = [];
  for (const name of names) {
    if (!name.endsWith(".cedar") && !name.endsWith(".cedarschema")) continue;
    let text: string;
    try {
      text = readFileSync(join(dir, name), "utf8");
    } catch (error) {
      problems.push(`${name}: cannot read: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
      continue;
    }
    if (name.endsWith(".cedar")) {
      files.push([name, text]);
      continue;
    }
    builtInSchemaJson ??= schemaJson(CEDAR_SCHEMA);
    const theirs = schemaJson(text);
    if (theirs === null) problems.push(`${name}: not a valid Cedar schema`);
    else if (theirs !== builtInSchemaJson) {
      problems.push(
        `${name}: differs from the broker's schema; replace it with the output of 'ephemera policy schema'`,
      );
    }
  }
  if (files.length === 0) problems.push("no *.cedar files: with no policy every request is denied");
  if (problems.length > 0) throw new PolicyLoadError(dir, problems);
  return compilePolicies(dir, files);
}
