// What the request and grant calls answer: a request with its grant, and the credential when one is handed out.
import Type from "typebox";
import { GrantSchema } from "./grants.js";
import { CredentialSchema, RequestSchema } from "./requests.js";

/** `POST /v1/requests` 201: issued at once; the credential is shown this once, never stored. */
export const RequestResultSchema = Type.Object({
  request: RequestSchema,
  grant: GrantSchema,
  credential: CredentialSchema,
});

/** `POST /v1/requests` 200: an Idempotency-Key retry: the request made before and its grant as they are now. */
export const ReplayedResultSchema = Type.Object({
  request: RequestSchema,
  grant: Type.Union([GrantSchema, Type.Null()]),
  credential: Type.Null(),
});

/** `POST /v1/requests` 202: approvers must agree first; collect the credential once approved. */
export const PendingResultSchema = Type.Object({ request: RequestSchema });

/** `GET /v1/requests/{id}`: the request, its grant, and who asked (for approvers). */
export const RequestViewSchema = Type.Object({
  request: RequestSchema,
  grant: Type.Union([GrantSchema, Type.Null()]),
  requester: Type.Optional(
    Type.Union([
      Type.Object(
        { id: Type.String(), kind: Type.String(), owner: Type.Union([Type.String(), Type.Null()]) },
        { description: "the identity that asked, as registered now (who approvers are approving for)" },
      ),
      Type.Null(),
    ]),
  ),
});

/** `POST /v1/grants/{id}/renew`. */
export const RenewResultSchema = Type.Object({
  grant: GrantSchema,
  /** A fresh credential when the connector issues one on renewal (token targets do). */
  credential: Type.Union([CredentialSchema, Type.Null()]),
  /** True when the renewal was shortened to the grant's maximum. */
  capped: Type.Boolean(),
});
