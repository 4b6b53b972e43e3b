// A console session on the wire (`/v1/sessions`), and the header its CSRF token travels in.
import Type from "typebox";

export const CSRF_HEADER = "x-csrf-token";

/** Who signed in, the CSRF token to echo on every change, and when the session ends. */
export const SessionSchema = Type.Object({
  identity: Type.Object({
    id: Type.String(),
    kind: Type.String(),
    owner: Type.Union([Type.String(), Type.Null()]),
    groups: Type.Array(Type.String()),
    admin: Type.Boolean({ description: "policy allows the admin action on the broker (privileges holds admin)" }),
    privileges: Type.Array(Type.String(), {
      description:
        "privileged actions policy allows now: read_audit, export_audit and admin on the broker; discover and rotate " +
        "on at least one target. A hint for what to show: each call is decided (and a refusal audited) again",
    }),
  }),
  csrfToken: Type.String({ description: `send it in the ${CSRF_HEADER} header on every POST, PATCH and DELETE` }),
  expiresAt: Type.String({ format: "date-time" }),
});
