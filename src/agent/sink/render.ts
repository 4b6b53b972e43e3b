// Renders a credential into a sink file's content: dotenv (`env`), `json`, or a logic-less Mustache template.
//
// Mustache was chosen because its templates are data only: no expressions, no helpers, no file includes, so whoever
// writes a template cannot run code in the agent, and the view holds strings only. HTML escaping is off (sinks are
// config files, not web pages); a name that resolves to nothing is an error rather than an empty string, so a typo in
// `{{fields.pasword}}` never writes a config without its password.
import Mustache from "mustache";

export type SinkFormat = "env" | "json" | "template";

export const SINK_FORMATS: readonly SinkFormat[] = ["env", "json", "template"];

/** What a sink renders: the same shape `withAccess` hands a task (without `childEnv`). */
export interface SinkCredential {
  readonly grantId: string;
  /** ISO time the access ends unless renewed. */
  readonly expiresAt: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
}

/** A sink cannot be rendered or written; the message names keys and paths, never a value. */
export class SinkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SinkError";
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The content of a sink file. `env`: one `NAME='value'` line per credential variable plus `EPHEMERA_GRANT_ID` and
 * `EPHEMERA_EXPIRES_AT`; `json`: `{grantId, expiresAt, fields, env}`; `template`: `template` rendered with that same
 * object as its view (`{{fields.password}}`, `{{env.PGUSER}}`, `{{grantId}}`, `{{expiresAt}}`).
 */
export function renderSink(format: SinkFormat, credential: SinkCredential, template?: string): string {
  switch (format) {
    case "env":
      return renderEnv(credential);
    case "json":
      return `${JSON.stringify(view(credential), null, 2)}\n`;
    case "template":
      if (template === undefined) throw new SinkError("format template needs a template");
      return renderTemplate(template, credential);
    default:
      throw new SinkError(`unknown sink format ${JSON.stringify(format)}`);
  }
}

function view(credential: SinkCredential): SinkCredential {
  return {
    grantId: credential.grantId,
    expiresAt: credential.expiresAt,
    fields: { ...credential.fields },
    env: { ...credential.env },
  };
}

function renderEnv(credential: SinkCredential): string {
  const vars: Record<string, string> = {
    ...credential.env,
    EPHEMERA_GRANT_ID: credential.grantId,
    EPHEMERA_EXPIRES_AT: credential.expiresAt,
  };
  const lines: string[] = [];
  for (const [name, value] of Object.entries(vars)) {
    if (!ENV_NAME.test(name)) throw new SinkError(`env: variable name ${JSON.stringify(name)} is not a valid name`);
    lines.push(`${name}=${quoteEnvValue(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Quotes a dotenv value so it reads back unchanged. Single quotes are literal in POSIX shells (`source`), dotenv,
 * docker compose and systemd alike; a value that holds a single quote or a line break is written double-quoted with
 * `\\`, `\"`, `\$`, `` \` `` and `\n` escaped instead.
 */
export function quoteEnvValue(value: string): string {
  if (value.includes("\0")) throw new SinkError("env: a value contains a NUL character");
  if (!/['\n\r]/.test(value)) return `'${value}'`;
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')
    .replace(/\$/g, "\\$")
    .replace(/`/g, "\\`")
    .replace(/\r/g, "\\r")
    .replace(/\n/g, "\\n");
  return `"${escaped}"`;
}

/** Throws SinkError when `template` is not a well-formed Mustache template (checked when config is loaded). */
export function checkTemplate(template: string): void {
  try {
    Mustache.parse(template);
  } catch (error) {
    throw new SinkError(`template: ${error instanceof Error ? error.message : "cannot be parsed"}`);
  }
}

type Token = [string, string, number, number, Token[]?, ...unknown[]];

function renderTemplate(template: string, credential: SinkCredential): string {
  checkTemplate(template);
  const data = view(credential);
  checkNames(Mustache.parse(template) as unknown as Token[], data);
  // No partials: `{{> name}}` renders nothing, and mustache never reads files on its own.
  return Mustache.render(template, data, {}, { escape: (text: string) => text });
}

/** Every top-level name must resolve to a value (names inside a section may refer to the section's item). */
function checkNames(tokens: readonly Token[], data: SinkCredential): void {
  for (const token of tokens) {
    const [type, name] = token;
    if (type !== "name" && type !== "&" && type !== "#" && type !== "^") continue;
    if (name === ".") continue;
    let current: unknown = data;
    for (const part of name.split(".")) {
      current =
        typeof current === "object" && current !== null && Object.hasOwn(current, part)
          ? (current as Record<string, unknown>)[part]
          : undefined;
    }
    if (current === undefined) throw new SinkError(`template: {{${name}}} names nothing in the credential`);
  }
}
