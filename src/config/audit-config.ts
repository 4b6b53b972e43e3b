// The `audit` section: signed checkpoints and their sinks, the HMAC key for sensitive values, the SIEM stream, retention.
import Type, { type Static } from "typebox";
import { DEFAULTS } from "./defaults.js";
import { outboundUrlProblem } from "./outbound-url.js";
import type { DurationText } from "./reader.js";
import { Duration } from "./schema-types.js";

export const AuditSchema = Type.Object(
  {
    checkpoints: Type.Optional(
      Type.Union([
        Type.Literal(false, { description: "no checkpoints (not recommended)" }),
        Type.Object(
          {
            every: Type.Optional(
              Type.Integer({
                minimum: 1,
                description: "sign after this many events",
                default: DEFAULTS.audit.checkpoints.every,
              }),
            ),
            interval: Type.Optional(Duration({ default: DEFAULTS.audit.checkpoints.interval })),
            sink: Type.Optional(
              Type.Union([Type.String({ minLength: 1 }), Type.Literal(false)], {
                description: "directory for one JSON file per checkpoint, never overwritten (<dataDir>/checkpoints)",
              }),
            ),
            webhook: Type.Optional(
              Type.String({ minLength: 1, description: "name of a notifications webhook that also receives each one" }),
            ),
          },
          { additionalProperties: false },
        ),
      ]),
    ),
    hmacKey: Type.Optional(
      Type.Unknown({ description: "HMAC key for sensitive values: { env: NAME } or { file: PATH }; else generated" }),
    ),
    stream: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: "^https?://",
            description: "where batches of events are POSTed, in order; https",
          }),
          allowInsecureLoopback: Type.Optional(
            Type.Boolean({
              description: "allow http:// to a loopback address (tests only)",
              default: DEFAULTS.allowInsecureLoopback,
            }),
          ),
          secretFile: Type.Optional(Type.String({ minLength: 1, description: "HMAC key for x-ephemera-signature" })),
          format: Type.Optional(
            Type.Union([Type.Literal("jsonl"), Type.Literal("ocsf")], { default: DEFAULTS.audit.stream.format }),
          ),
          interval: Type.Optional(Duration({ default: DEFAULTS.audit.stream.interval })),
          batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: DEFAULTS.audit.stream.batch })),
          timeout: Type.Optional(Duration({ default: DEFAULTS.audit.stream.timeout })),
        },
        { additionalProperties: false },
      ),
    ),
    refusalWindow: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 1 })], {
        description:
          "refusals of one kind from one source (failed sign-ins, bad keys, malformed bodies): the first in a window is its own event, the rest one summary at its end",
        default: DEFAULTS.audit.refusalWindow,
      }),
    ),
    retention: Type.Optional(
      Type.Literal("forever", {
        description: "audit events are kept forever (never pruned); retention.endedGrants prunes ended grants",
      }),
    ),
  },
  { additionalProperties: false },
);

export type RawAuditConfig = Static<typeof AuditSchema>;

export interface AuditConfig {
  /** Null when checkpoints are turned off. */
  readonly checkpoints: {
    readonly every: number;
    readonly intervalMs: number;
    /** Directory of checkpoint files; null for none (then a webhook must be named). */
    readonly sinkDir: string | null;
    /** A `notifications.webhooks` name; null for none. */
    readonly webhook: string | null;
  } | null;
  /** From the file or environment; null: generated on first start and sealed in the store. */
  readonly hmacKey: string | null;
  readonly stream: {
    readonly url: string;
    readonly secret: string | null;
    readonly format: "jsonl" | "ocsf";
    readonly intervalMs: number;
    readonly batch: number;
    readonly timeoutMs: number;
  } | null;
  /** Events are kept forever: no pruning is implemented. */
  readonly retention: "forever";
  /** Refusals of one kind from one source within this window are one event plus one summary. */
  readonly refusalWindowMs: number;
}

export interface AuditConfigInputs {
  readonly dataDir: string;
  readonly path: (p: string) => string;
  readonly seconds: (value: DurationText | undefined, at: string, fallback: DurationText) => number;
  /** Resolves `{ env }` / `{ file }`; reports a problem and returns "" when it cannot. */
  readonly secretRef: (value: unknown, at: string) => unknown;
  readonly readFile: (path: string, at: string) => string | null;
  readonly webhookNames: ReadonlySet<string>;
  readonly problems: string[];
}

export function auditConfig(raw: RawAuditConfig | undefined, h: AuditConfigInputs): AuditConfig {
  const doc = raw ?? {};
  let checkpoints: AuditConfig["checkpoints"] = null;
  if (doc.checkpoints !== false) {
    const cp = doc.checkpoints ?? {};
    const webhook = cp.webhook ?? null;
    if (webhook !== null && !h.webhookNames.has(webhook)) {
      h.problems.push(`audit.checkpoints.webhook: '${webhook}' is not a notifications.webhooks name`);
    }
    const sinkDir = cp.sink === false ? null : h.path(cp.sink ?? `${h.dataDir}/checkpoints`);
    if (sinkDir === null && webhook === null) {
      h.problems.push("audit.checkpoints: with sink: false, name a webhook (or turn checkpoints off with false)");
    }
    const intervalSeconds = h.seconds(cp.interval, "audit.checkpoints.interval", DEFAULTS.audit.checkpoints.interval);
    if (intervalSeconds <= 0) h.problems.push("audit.checkpoints.interval: must be more than zero");
    checkpoints = {
      every: cp.every ?? DEFAULTS.audit.checkpoints.every,
      intervalMs: intervalSeconds * 1000,
      sinkDir,
      webhook,
    };
  }

  let hmacKey: string | null = null;
  if (doc.hmacKey !== undefined) {
    const isRef = typeof doc.hmacKey === "object" && doc.hmacKey !== null && !Array.isArray(doc.hmacKey);
    const value = isRef ? h.secretRef(doc.hmacKey, "audit.hmacKey") : null;
    if (typeof value !== "string" || value.length < 32) {
      h.problems.push(
        "audit.hmacKey: must be { env: NAME } or { file: PATH } naming at least 32 characters (addresses are few: a short key would let them be guessed back from their HMAC)",
      );
    } else {
      hmacKey = value;
    }
  }

  let stream: AuditConfig["stream"] = null;
  if (doc.stream) {
    const s = doc.stream;
    const urlProblem = outboundUrlProblem(
      "audit.stream.url",
      s.url,
      s.allowInsecureLoopback ?? DEFAULTS.allowInsecureLoopback,
    );
    if (urlProblem) h.problems.push(urlProblem);
    let secret: string | null = null;
    if (s.secretFile !== undefined) {
      secret = h.readFile(h.path(s.secretFile), "audit.stream.secretFile");
      if (secret !== null && secret.length < 16) {
        h.problems.push("audit.stream.secretFile: the key must be at least 16 characters");
      }
    }
    stream = {
      url: s.url,
      secret,
      format: s.format ?? DEFAULTS.audit.stream.format,
      intervalMs: Math.max(1, h.seconds(s.interval, "audit.stream.interval", DEFAULTS.audit.stream.interval)) * 1000,
      batch: s.batch ?? DEFAULTS.audit.stream.batch,
      timeoutMs: Math.max(1, h.seconds(s.timeout, "audit.stream.timeout", DEFAULTS.audit.stream.timeout)) * 1000,
    };
  }
  const refusalWindowMs =
    Math.max(1, h.seconds(doc.refusalWindow, "audit.refusalWindow", DEFAULTS.audit.refusalWindow)) * 1000;
  return { checkpoints, hmacKey, stream, retention: "forever", refusalWindowMs };
}
