// The support folder's public surface: what other src/ folders import from it.
export { backoffDelay } from "./backoff.js";
export type { Clock } from "./clock.js";
export type { ErrorCode } from "./errors.js";
export { describeError, EphemeraError, ERROR_CATALOGUE, redactSecrets } from "./errors.js";
export { idBound, newId, randomToken } from "./ids.js";
export type { Logger } from "./logger.js";
export { isLoopbackHostname } from "./loopback.js";
export { Periodic } from "./periodic.js";
export { holdsLease } from "./replica-lease.js";
export type { Sealer } from "./sealer.js";
export { Secret, sameSecret } from "./secret.js";
export { SingleFlight } from "./single-flight.js";
export { signature } from "./webhook-signature.js";
