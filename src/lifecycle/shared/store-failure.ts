// A failure of the store as callers are told it: the storage port's errors become the broker's own, so a caller
// (the HTTP layer) answers them without knowing the store.
import { ConflictError, StoreUnavailableError } from "../../storage/index.js";
import { describeError, EphemeraError } from "../../support/index.js";

/** The error to answer for a store failure; null when `error` is not one. */
export function storeFailure(error: unknown): EphemeraError | null {
  if (error instanceof ConflictError) {
    // Another request or the scheduler changed the grant first (e.g. complete racing expiry): 409, not 500.
    return new EphemeraError("invalid_state", "the grant changed while this request ran; read it again", {
      extensions: { retryable: true },
    });
  }
  if (error instanceof StoreUnavailableError) {
    // The store is out of reach: nothing was done, and this replica says so (fail closed) rather than 500.
    return new EphemeraError("unavailable", "the broker's store cannot be reached; nothing was done, try again", {
      detail: describeError(error),
      extensions: { retryable: true },
    });
  }
  return null;
}
