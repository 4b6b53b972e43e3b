// Rotation of the broker's own ACL password. A Redis ACL user holds several passwords at once, so this is the full
// create → verify → retire sequence: add the new one, prove it with AUTH on a fresh connection, then remove the old one.
import type { RotationSteps } from "../support/admin-secret.js";
import { authenticate, type Endpoint, openConnection, safeText, tryLogin } from "./redis-client.js";

/** Runs one command on a fresh connection logged in as `user` with `password`, then closes it. */
async function asUser(endpoint: Endpoint, user: string, password: string, args: readonly string[]): Promise<void> {
  const client = await openConnection(endpoint);
  try {
    await authenticate(client, user, password);
    await client.call("ACL", ...args);
  } finally {
    client.disconnect();
  }
}

export function adminRotationSteps(endpoint: Endpoint, user: string): RotationSteps {
  const works = async (secret: string): Promise<boolean> => {
    const outcome = await tryLogin(endpoint, user, secret);
    // Unreachable is not "refused": settling on it would throw away a secret that may be the only working one.
    if (outcome.accepted === null) throw new Error(`cannot check the admin secret of ${user}: ${outcome.error}`);
    return outcome.accepted;
  };
  return {
    works,
    async apply(next, current) {
      try {
        await asUser(endpoint, user, current, ["SETUSER", user, `>${next}`]);
      } catch (error) {
        throw new Error(`adding the new password to ACL user ${user} failed: ${safeText(error, [next, current])}`);
      }
    },
    async retire(old, next) {
      try {
        await asUser(endpoint, user, next, ["SETUSER", user, `<${old}`]);
      } catch (error) {
        const text = safeText(error, [next, old]);
        // A crash after the old password was removed leaves nothing to remove: that is the goal, not a failure.
        if (!text.includes("does not exist")) {
          throw new Error(`removing the old password of ACL user ${user} failed: ${text}`);
        }
      }
      if (await works(old)) throw new Error(`the old password of ACL user ${user} is still accepted after removal`);
    },
  };
}
