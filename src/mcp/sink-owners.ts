// Which session owns each sink file, over all sessions of one `ephemera mcp` process: two sessions writing one path
// would overwrite each other's credential, and the first to finish would delete the file the other still uses.
export class SinkOwners {
  readonly #owners = new Map<string, object>();

  /** Claims `path` for `owner`; false when another owner holds it. Claiming a path one already holds is fine. */
  claim(path: string, owner: object): boolean {
    const current = this.#owners.get(path);
    if (current !== undefined && current !== owner) return false;
    this.#owners.set(path, owner);
    return true;
  }

  /** Lets go of `path` if `owner` holds it; another owner's claim is left alone. */
  release(path: string, owner: object): void {
    if (this.#owners.get(path) === owner) this.#owners.delete(path);
  }
}
