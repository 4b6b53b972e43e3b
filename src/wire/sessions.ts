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

/** How people may sign in: what the console's sign-in page offers and what a command line needs for the device grant. */
export const SignInMethodsSchema = Type.Object({
  apiKey: Type.Boolean({ description: "whether POST /v1/sessions takes a pasted API key" }),
  oidc: Type.Union([
    Type.Object({
      name: Type.String({ description: 'the provider\'s name, for "Sign in with <name>"' }),
      authorizeUrl: Type.String({ description: "where the browser goes to sign in (GET)" }),
    }),
    Type.Null(),
  ]),
  cli: Type.Union([
    Type.Object({
      issuer: Type.String({ description: "the identity provider; its discovery document names the device endpoint" }),
      clientId: Type.String({ description: "the public client a command line asks the provider for tokens as" }),
      scopes: Type.Array(Type.String()),
      sessionUrl: Type.String({ description: "where to exchange the ID token for a broker session (POST)" }),
    }),
    Type.Null(),
  ]),
});

/** An ID token the command line got from the provider (device grant) for its own client id. */
export const PersonSessionBodySchema = Type.Object(
  { idToken: Type.String({ minLength: 1, maxLength: 65_536 }) },
  { additionalProperties: false },
);

/** A broker session for a person on the command line: send `Authorization: Bearer <token>` on every call. */
export const PersonSessionSchema = Type.Object({
  token: Type.String({ description: "ephs_…: shown once, stored by the broker only as a hash" }),
  tokenType: Type.Literal("Bearer"),
  expiresAt: Type.String({ format: "date-time" }),
  identity: SessionSchema.properties.identity,
});

/** Sign-out of a session signed in through the provider, when the provider offers RP-initiated logout. */
export const SignOutSchema = Type.Object({
  logoutUrl: Type.String({ description: "send the browser here to end the session at the identity provider too" }),
});
