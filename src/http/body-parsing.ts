// How request bodies are read: JSON everywhere (an empty body is "no options"), form encoding only for token
// introspection, no NUL characters anywhere, and no type coercion of bodies by schema validation.
import { AjvCompiler } from "@fastify/ajv-compiler";
import type { FastifyError, FastifyInstance } from "fastify";

/** Installs the broker's body parsers on `app`, replacing fastify's JSON parser. */
export function registerBodyParsers(app: Pick<FastifyInstance, "addContentTypeParser" | "getDefaultJsonParser">): void {
  // An empty JSON body means "no options" (POST …/complete with a content type but nothing in it); anything else
  // goes through fastify's own parser, which also refuses prototype poisoning.
  const jsonParser = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    if (String(body).trim() === "") {
      done(null, undefined);
      return;
    }
    jsonParser(request, body as string, (error, parsed) => {
      if (error) return done(error, undefined);
      const where = nulCharacterAt(parsed, "");
      if (where === null) return done(null, parsed);
      // PostgreSQL text cannot hold NUL; refused here as bad input, on every store alike.
      done(validationError(where, "must not contain a NUL character"), undefined);
    });
  });

  // RFC 7662 asks for form-encoded introspection requests; every other route takes JSON only, so a cross-site HTML
  // form (which can post forms without a CORS preflight) can reach none of them — console sign-in included.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (request, body, done) => {
    if (request.routeOptions.url !== "/v1/introspect") {
      done(unsupportedMediaType(), undefined);
      return;
    }
    const parsed = Object.fromEntries(new URLSearchParams(body as string));
    const where = nulCharacterAt(parsed, "");
    if (where === null) done(null, parsed);
    else done(validationError(where, "must not contain a NUL character"), undefined);
  });
}

const AJV_OPTIONS = { removeAdditional: false, allErrors: false } as const;
const validatorPool = AjvCompiler();

/** Validators without type coercion for bodies, with it for the query string, path parameters and headers. */
export function strictBodyValidator(externalSchemas: Parameters<typeof validatorPool>[0]) {
  const strict = validatorPool(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: false } });
  const lenient = validatorPool(externalSchemas, { customOptions: { ...AJV_OPTIONS, coerceTypes: "array" } });
  // The pool's compile functions take fastify's route definition (schema, method, url, httpPart).
  type Route = Parameters<typeof strict>[0] & { readonly httpPart?: string };
  return (route: Route) => (route.httpPart === "body" ? strict(route) : lenient(route));
}

/** The JSON pointer of the first string (value or key) holding U+0000, or null. */
function nulCharacterAt(value: unknown, path: string): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulCharacterAt(value[i], `${path}/${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if (key.includes("\u0000")) return path;
      const found = nulCharacterAt(inner, `${path}/${key.replaceAll("/", "~1")}`);
      if (found !== null) return found;
    }
  }
  return null;
}

/** A body refusal shaped like the framework's schema validation errors, so it is answered and audited as they are. */
function validationError(instancePath: string, message: string): FastifyError {
  return Object.assign(new Error(message), {
    code: "FST_ERR_VALIDATION",
    name: "FastifyError",
    statusCode: 400,
    validation: [{ instancePath, message, keyword: "nul", schemaPath: "#", params: {} }],
    validationContext: "body" as const,
  }) as FastifyError;
}

/** A non-JSON body where only JSON is taken: answered as the framework's own 415. */
function unsupportedMediaType(): FastifyError {
  return Object.assign(new Error("send the body as application/json"), {
    code: "FST_ERR_CTP_INVALID_MEDIA_TYPE",
    name: "FastifyError",
    statusCode: 415,
  }) as FastifyError;
}
