// The `server` section's schema: listen address, public URL, body limit, trusted proxies, rate limits and HTTPS.
import Type from "typebox";
import { DEFAULTS } from "./defaults.js";
import { Duration } from "./schema-types.js";

const RateLimitSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, description: "attempts allowed per window from one source" }),
    window: Duration(),
  },
  { additionalProperties: false },
);

export const ServerSchema = Type.Object(
  {
    listen: Type.Optional(Type.String({ description: "host:port", default: DEFAULTS.server.listen })),
    publicUrl: Type.Optional(Type.String({ description: "the URL callers use; default http://<listen>" })),
    bodyLimit: Type.Optional(
      Type.Integer({
        minimum: 1024,
        description: "largest request body in bytes",
        default: DEFAULTS.server.bodyLimit,
      }),
    ),
    trustProxy: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          "addresses or CIDRs of the proxies in front of the broker whose X-Forwarded-For is believed: rate limits and audit source addresses then see the client's address",
      }),
    ),
    rateLimit: Type.Optional(
      Type.Union([
        Type.Literal(false, { description: "no limits (behind a proxy that limits instead)" }),
        Type.Object(
          {
            authFailures: Type.Optional(RateLimitSchema),
            signIns: Type.Optional(RateLimitSchema),
          },
          {
            additionalProperties: false,
            description:
              "per source address: failed authentications (a valid credential is never limited) and console sign-ins",
            default: DEFAULTS.server.rateLimit,
          },
        ),
      ]),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({ minLength: 1, description: "PEM file of the server certificate (and chain)" }),
          key: Type.String({ minLength: 1, description: "PEM file of the server's private key" }),
          clientCa: Type.Optional(
            Type.String({
              minLength: 1,
              description: "PEM file of the CAs client certificates must chain to; set to ask for client certificates",
            }),
          ),
        },
        {
          additionalProperties: false,
          description: "serve HTTPS; with clientCa, also ask for client certificates (mTLS)",
        },
      ),
    ),
  },
  { additionalProperties: false },
);
