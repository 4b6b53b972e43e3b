// The audit folder's public surface: hashing and chaining of events (defined in domain/, where stores reach them), verification of the chain, signed checkpoints
// and their offline verification, HMAC of sensitive values, export formats and the SIEM stream.
export type { ChainHead } from "../domain/index.js";
export { canonicalJson, chainDraft, GENESIS_HASH, hashEvent } from "../domain/index.js";
export type { CheckpointKey } from "./audit-keys.js";
export { loadCheckpointKey, loadHmacKey, storedCheckpointKeyX } from "./audit-keys.js";
export type { AuditStreamOptions, StreamPass } from "./audit-stream.js";
export { AuditStream } from "./audit-stream.js";
export type { CheckpointBody, CheckpointPublicJwk, SignedCheckpoint } from "./checkpoint.js";
export { checkpointDigest, checkpointSignatureValid, keyIdOf, parseCheckpoint, parsePublicKey } from "./checkpoint.js";
export type { CheckpointerOptions } from "./checkpointer.js";
export { Checkpointer } from "./checkpointer.js";
export type { AuditCode } from "./codes.js";
export { AUDIT_CODES, severityOf } from "./codes.js";
export type { ExportFormat } from "./export.js";
export { exportRecord, jsonlRecord, OCSF_VERSION, ocsfRecord } from "./export.js";
export { AuditHmac } from "./hmac.js";
export { merkleRoot } from "./merkle.js";
export { readCheckpointDir } from "./read-checkpoints.js";
export { systemEvent } from "./system-event.js";
export type { ChainProblem, ChainVerification, VerifyOptions } from "./verify.js";
export { verifyChain, verifyStoreChain } from "./verify.js";
export type { CheckpointProblem, CheckpointVerification, NamedCheckpoint } from "./verify-checkpoints.js";
export { verifyAgainstCheckpoints } from "./verify-checkpoints.js";
