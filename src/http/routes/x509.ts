// What x509 targets publish for relying parties, without authentication: the CA bundle, the CRLs and the deny-list.
import Type from "typebox";
import type { X509Publisher } from "../../connectors/index.js";
import { EphemeraError } from "../../support/index.js";
import { ProblemSchema } from "../../wire/index.js";
import type { App } from "../app.js";
import type { HttpServices } from "../route-context.js";

const Params = Type.Object({ target: Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" }) });

export function registerX509Routes(app: App, services: HttpServices): void {
  const publisherOf = (target: string): X509Publisher => {
    const connector = services.connectors.get(target);
    if (connector?.type !== "x509" || !connector.publisher) {
      throw new EphemeraError("not_found", `no x509 target named '${target}'`);
    }
    return connector.publisher;
  };

  app.get(
    "/.well-known/ephemera/x509/:target/ca.pem",
    {
      schema: {
        summary: "PEM bundle of an x509 target's CAs (current first; a retired CA stays while its certificates live)",
        tags: ["x509"],
        security: [],
        params: Params,
        response: { 200: Type.String(), "4xx": ProblemSchema },
      },
    },
    async (request, reply) => {
      const bundle = await publisherOf(request.params.target).caBundle();
      reply.header("content-type", "application/x-pem-file").header("cache-control", "public, max-age=60");
      return bundle;
    },
  );

  app.get(
    "/.well-known/ephemera/x509/:target/crl.pem",
    {
      schema: {
        summary: "The target's CRLs, one per published CA, PEM: load them as a TLS server's crl; valid 5 minutes",
        tags: ["x509"],
        security: [],
        params: Params,
        response: { 200: Type.String(), "4xx": ProblemSchema },
      },
    },
    async (request, reply) => {
      const crl = await publisherOf(request.params.target).crl();
      reply.header("content-type", "application/x-pem-file").header("cache-control", "no-cache");
      return crl;
    },
  );

  app.get(
    "/.well-known/ephemera/x509/:target/revoked.json",
    {
      schema: {
        summary: "The deny-list as JSON: each revoked serial, its CA and until when it is listed (its notAfter)",
        tags: ["x509"],
        security: [],
        params: Params,
        response: {
          200: Type.Object({
            target: Type.String(),
            revoked: Type.Array(
              Type.Object({
                serial: Type.String(),
                ca: Type.String(),
                revokedAt: Type.String(),
                listedUntil: Type.String(),
              }),
            ),
          }),
          "4xx": ProblemSchema,
        },
      },
    },
    async (request, reply) => {
      const revoked = await publisherOf(request.params.target).revoked();
      reply.header("cache-control", "no-cache");
      return {
        target: request.params.target,
        revoked: revoked.map((r) => ({
          serial: r.serial,
          ca: r.ca,
          revokedAt: new Date(r.revokedAt).toISOString(),
          listedUntil: new Date(r.notAfter).toISOString(),
        })),
      };
    },
  );
}
