// /v1/audit: read the hash-chained audit log, export it and verify it end to end, for whom policy allows (read_audit,
// export_audit, admin for checkpoints and the HMAC).
import Type from "typebox";
import { auditHmacOf, exportAudit, latestCheckpoint, readAudit, verifyAudit } from "../../lifecycle/index.js";
import { EphemeraError } from "../../support/index.js";
import { AuditExportPageSchema, AuditPageSchema, ProblemSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import { presentAuditEvent } from "../present.js";
import { callerOf, type HttpServices, requestFacts } from "../route-context.js";

export function registerAuditRoutes(app: App, services: HttpServices): void {
  const { deps } = services;

  app.get(
    "/v1/audit",
    {
      schema: {
        summary: "Audit events in sequence order",
        tags: ["audit"],
        querystring: Type.Object(
          {
            after: Type.Optional(Type.Integer({ minimum: 0, description: "return events with seq > after" })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            grant: Type.Optional(Type.String({ maxLength: 64 })),
            request: Type.Optional(Type.String({ maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: AuditPageSchema,
          "4xx": ProblemSchema,
        },
      },
    },
    async (request) => {
      const { after = 0, limit = 100, grant, request: requestId } = request.query;
      const { events, next } = await readAudit(
        deps,
        callerOf(request),
        { after, limit, ...(grant ? { grantId: grant } : {}), ...(requestId ? { requestId } : {}) },
        requestFacts(request),
      );
      return { events: events.map(presentAuditEvent), next };
    },
  );

  app.get(
    "/v1/audit/export",
    {
      schema: {
        summary: "Audit events as a SIEM reads them, in sequence order",
        description:
          "jsonl: each event as stored, hashes included, so the receiver can verify the chain; ocsf: OCSF 1.1. " +
          "Needs the export_audit action.",
        tags: ["audit"],
        querystring: Type.Object(
          {
            after: Type.Optional(Type.Integer({ minimum: 0, description: "return events with seq > after" })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            format: Type.Optional(Type.Union([Type.Literal("jsonl"), Type.Literal("ocsf")])),
          },
          { additionalProperties: false },
        ),
        response: { 200: AuditExportPageSchema, "4xx": ProblemSchema },
      },
    },
    async (request) => {
      const { after = 0, limit = 100, format = "jsonl" } = request.query;
      const query = { after, limit, format, version: services.version };
      return exportAudit(deps, callerOf(request), query, requestFacts(request));
    },
  );

  app.get(
    "/v1/audit/verify",
    {
      schema: {
        summary: "Verify the audit chain end to end",
        description: "Recomputes every hash and link; names the first bad event.",
        tags: ["audit"],
        response: { 200: Type.Record(Type.String(), Type.Unknown()), "4xx": ProblemSchema },
      },
    },
    async (request) => {
      return { ...(await verifyAudit(deps, callerOf(request), requestFacts(request))) };
    },
  );

  app.get(
    "/v1/audit/checkpoints/key",
    {
      schema: {
        summary: "The public key that signs audit checkpoints, for auditors to pin",
        description: "Any authenticated caller may read it: it is public. 404 when checkpoints are turned off.",
        tags: ["audit"],
        response: { 200: Type.Record(Type.String(), Type.Unknown()), "4xx": ProblemSchema },
      },
    },
    async (request) => {
      callerOf(request);
      const key = services.checkpointKey;
      if (!key) throw new EphemeraError("not_found", "audit checkpoints are turned off (audit.checkpoints: false)");
      return {
        keyId: key.keyId,
        alg: "Ed25519",
        jwk: { ...key.publicJwk, kid: key.keyId, alg: "EdDSA", use: "sig" },
        pin: `ed25519:${key.publicJwk.x}`,
      };
    },
  );

  app.get(
    "/v1/audit/checkpoints/latest",
    {
      schema: {
        summary: "The last signed audit checkpoint",
        tags: ["audit"],
        response: { 200: Type.Record(Type.String(), Type.Unknown()), "4xx": ProblemSchema },
      },
    },
    async (request) => {
      return { ...(await latestCheckpoint(deps, callerOf(request), services.lastCheckpoint, requestFacts(request))) };
    },
  );

  app.post(
    "/v1/audit/hmac",
    {
      schema: {
        summary: "The audit HMAC of a value (a token id, a source address), to find it in the log",
        tags: ["audit"],
        body: Type.Object({ value: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ hmac: Type.String() }), "4xx": ProblemSchema },
      },
    },
    async (request) => {
      return { hmac: await auditHmacOf(deps, callerOf(request), request.body.value, requestFacts(request)) };
    },
  );
}
