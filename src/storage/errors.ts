// The errors every store raises the same way: a lost race (conflict) and a commit that could not be made.

/** A change set named a version that is no longer current: someone else changed the row first. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConflictError";
  }
}

/** The store could not commit (disk, lock, connection): the change did not happen. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}
