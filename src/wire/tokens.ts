// Token introspection on the wire (`POST /v1/introspect`, RFC 7662).
import Type from "typebox";

/** `active`, and for an active token its claims (RFC 7662 §2.2). */
export const IntrospectionSchema = Type.Object({ active: Type.Boolean() }, { additionalProperties: true });
