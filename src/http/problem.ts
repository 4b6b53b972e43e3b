// Errors as RFC 9457 problem documents with a stable `type`; secrets never reach the detail.
import type { FastifyError, FastifyReply } from "fastify";
import { EphemeraError, ERROR_CATALOGUE, type ErrorCode, redactSecrets } from "../support/index.js";

export const PROBLEM_TYPE_PREFIX = "urn:ephemera:problem:";

export function problemBody(code: ErrorCode, detail: string, extensions: Readonly<Record<string, unknown>> = {}) {
  const entry = ERROR_CATALOGUE[code];
  return {
    type: `${PROBLEM_TYPE_PREFIX}${code}`,
    title: entry.title,
    status: entry.status,
    detail,
    code,
    ...extensions,
  };
}

export function sendProblem(reply: FastifyReply, error: EphemeraError): FastifyReply {
  return reply
    .code(error.status)
    .type("application/problem+json")
    .send(problemBody(error.code, error.publicMessage, error.extensions));
}

/** Maps framework errors (bad JSON, schema violations, oversized bodies) to our codes, naming what was wrong. */
export function fromFrameworkError(error: FastifyError): EphemeraError | null {
  if (error.validation) {
    const first = error.validation[0];
    const where = `${error.validationContext ?? "body"}${first?.instancePath ?? ""}`.replaceAll("/", ".");
    const params = (first?.params ?? {}) as { additionalProperty?: string; missingProperty?: string };
    const what = params.additionalProperty
      ? `unknown field '${params.additionalProperty}'`
      : params.missingProperty
        ? `missing field '${params.missingProperty}'`
        : (first?.message ?? "is not valid");
    return new EphemeraError("invalid_request", redactSecrets(`${where}: ${what}`), { extensions: { field: where } });
  }
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new EphemeraError("invalid_request", "the body is not valid JSON", { extensions: { field: "body" } });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new EphemeraError("payload_too_large", "the body is larger than the broker accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new EphemeraError("unsupported_media_type", "send the body as application/json");
    default:
      if (error instanceof SyntaxError || error.statusCode === 400) {
        return new EphemeraError("invalid_request", "the request is malformed", { extensions: { field: "body" } });
      }
      return null;
  }
}
