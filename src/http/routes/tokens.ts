// Broker-issued tokens: the JWKS resource servers verify with, and RFC 7662 introspection.
import Type from "typebox";
import { introspectToken } from "../../lifecycle/index.js";
import { IntrospectionSchema, ProblemSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import { callerOf, type HttpServices } from "../route-context.js";

export function registerTokenRoutes(app: App, services: HttpServices): void {
  app.get(
    "/.well-known/jwks.json",
    {
      schema: {
        summary: "Public keys of broker-signed tokens (a retired key stays until its last token has expired)",
        tags: ["tokens"],
        security: [],
      },
    },
    async (_request, reply) => {
      reply.header("cache-control", "public, max-age=60");
      return services.tokens.jwks();
    },
  );

  app.post(
    "/v1/introspect",
    {
      schema: {
        summary: "RFC 7662 token introspection",
        description:
          "Send `token=<jwt>` form-encoded (or JSON). Inactive at once after the grant is completed or revoked.",
        tags: ["tokens"],
        body: Type.Object({
          token: Type.String({ minLength: 1, maxLength: 16_384 }),
          token_type_hint: Type.Optional(Type.String()),
        }),
        response: {
          200: IntrospectionSchema,
          "4xx": ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      callerOf(request);
      reply.header("cache-control", "no-store");
      return introspectToken(services.deps, services.tokens, request.body.token);
    },
  );
}
