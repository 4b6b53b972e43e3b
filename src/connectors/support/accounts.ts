// Names and passwords for the accounts connectors make: derived from the grant id, random where secret.
import { randomToken, Secret } from "../../support/index.js";

/**
 * The account name for a grant: the target's prefix and the grant id's random part, `[a-z0-9_]` only, so it is a
 * valid unquoted identifier in every target and the reconciler can tell the broker's accounts by the prefix alone.
 * The same grant always gives the same name (`prepare` must be deterministic).
 */
export function accountName(prefix: string, grantId: string): string {
  const tail = grantId.replace(/^[a-z]+_/, "");
  if (!/^[0-9a-z]{8,40}$/.test(tail)) throw new Error("grant id has an unexpected format");
  return `${prefix}${tail}`;
}

/** True when `name` is one `accountName(prefix, …)` could have made. */
export function isManagedName(prefix: string, name: string): boolean {
  return name.startsWith(prefix) && /^[0-9a-z]{8,40}$/.test(name.slice(prefix.length));
}

/** 32 characters of [0-9a-z] from the CSPRNG (~165 bits): safe inside SQL literals, ACL rules and URLs alike. */
export function newPassword(): Secret<string> {
  return new Secret(randomToken(32));
}
