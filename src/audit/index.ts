// The audit folder's public surface: hashing and chaining of events, and verification of the chain.
export type { ChainHead } from "./append.js";
export { chainDraft } from "./append.js";
export { canonicalJson, GENESIS_HASH, hashEvent } from "./chain.js";
export type { AuditCode } from "./codes.js";
export { AUDIT_CODES, severityOf } from "./codes.js";
export { systemEvent } from "./system-event.js";
export type { ChainProblem, ChainVerification, VerifyOptions } from "./verify.js";
export { verifyChain, verifyStoreChain } from "./verify.js";
