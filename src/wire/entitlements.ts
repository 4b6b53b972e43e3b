// What the caller may ask for, on the wire (`GET /v1/entitlements`).
import Type from "typebox";

/** An entitlement policy permits the caller to ask for now. */
export const EntitlementViewSchema = Type.Object({
  /** `target/entitlement`: what to ask for. */
  name: Type.String({ description: "target/entitlement, what to ask for" }),
  target: Type.String(),
  risk: Type.String({ description: "low, medium or high" }),
  defaultDurationSeconds: Type.Integer(),
  /** The longest a request may ask for (the entitlement's maximum, or less where policy says so). */
  maxDurationSeconds: Type.Integer({ description: "the longest a request may ask for: the entitlement's or policy's" }),
  /** `auto`: issued at once; `required`: approvers must agree first. */
  approval: Type.String({ description: "auto: issued at once; required: approvers must agree first" }),
  approvers: Type.Array(Type.Object({ group: Type.String(), count: Type.Integer() })),
  policies: Type.Array(Type.String(), { description: "the policies that permit it" }),
});

/** `GET /v1/entitlements`. */
export const EntitlementListSchema = Type.Object({ entitlements: Type.Array(EntitlementViewSchema) });
