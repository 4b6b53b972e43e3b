// The HTTP API's bodies and responses as TypeBox schemas: the server validates and shapes with them and serves them as
// the OpenAPI document; the client and the console derive their types from them (`import type`, so neither gains
// runtime code). Pure data: imports nothing but typebox.
export { AuditEventSchema, AuditExportPageSchema, AuditPageSchema } from "./audit.js";
export { Duration, IdParams, ProblemSchema } from "./common.js";
export { EntitlementListSchema, EntitlementViewSchema } from "./entitlements.js";
export {
  EndBody,
  EvidenceSchema,
  GrantListQuery,
  GrantPageSchema,
  GrantSchema,
  GrantStateSchema,
  ReceiptSchema,
  RenewBody,
  UsageObservationSchema,
} from "./grants.js";
export { IdentityPageSchema, IdentitySchema, OffboardResultSchema } from "./identities.js";
export {
  DiscoveryReportSchema,
  PrivilegeReportSchema,
  RotationResultSchema,
  TargetDiscoverySchema,
  TargetListSchema,
  TargetSummarySchema,
} from "./monitor.js";
export {
  ApprovalSchema,
  ApproveBody,
  CreateRequestBody,
  CredentialSchema,
  DecisionSchema,
  DenyBody,
  IntentSchema,
  ModifyRequestBody,
  RequestListQuery,
  RequestPageSchema,
  RequestSchema,
  ReviewBody,
  ReviewSchema,
} from "./requests.js";
export {
  PendingResultSchema,
  RenewResultSchema,
  ReplayedResultSchema,
  RequestResultSchema,
  RequestViewSchema,
} from "./results.js";
export {
  CSRF_HEADER,
  PersonSessionBodySchema,
  PersonSessionSchema,
  SessionSchema,
  SignInMethodsSchema,
  SignOutSchema,
} from "./sessions.js";
export { IntrospectionSchema } from "./tokens.js";
