// Bounded, one-shot ioredis connections and error text safe to show: Redis echoes ACL rules (passwords among them) in
// its errors and ioredis keeps every command's arguments on the error object, so driver errors never leave this folder.
import { Redis } from "ioredis";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

export const CONNECT_TIMEOUT_MS = 5_000;
export const COMMAND_TIMEOUT_MS = 10_000;

/**
 * A connection that never reconnects, never queues while offline and bounds connect and every command. RESP2 and no
 * handshake commands, so a connection with no credentials works even where the `default` user is off, and a
 * restricted ACL user needs nothing beyond what it runs (no ready-check INFO, no CLIENT SETINFO).
 */
export async function openConnection(endpoint: Endpoint): Promise<Redis> {
  const client = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    ...(endpoint.tls ? { tls: { servername: endpoint.host } } : {}),
    protocol: 2,
    disableClientInfo: true,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // Without a listener ioredis prints connection errors to the console; each call reports its own error instead.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`cannot connect to redis at ${endpoint.host}:${endpoint.port}: ${safeText(error, [])}`);
  }
  return client;
}

/** Logs `client` in as `user`; the `default` user with no password is already logged in on connect. */
export async function authenticate(client: Redis, user: string, password: string): Promise<void> {
  if (user === "default" && password === "") return;
  try {
    await client.call("AUTH", user, password);
  } catch (error) {
    throw new Error(`redis refused the login of user ${user}: ${safeText(error, [password])}`);
  }
}

/** What an `AUTH` with a user and secret did on a fresh connection. */
export type AuthOutcome =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly refusal: string }
  | { readonly accepted: null; readonly error: string };

/** Tries `AUTH user secret` on a fresh connection: accepted, refused (`WRONGPASS …`), or not tried (unreachable). */
export async function tryLogin(endpoint: Endpoint, user: string, secret: string): Promise<AuthOutcome> {
  let client: Redis;
  try {
    client = await openConnection(endpoint);
  } catch (error) {
    return { accepted: null, error: safeText(error, [secret]) };
  }
  try {
    await client.call("AUTH", user, secret);
    return { accepted: true };
  } catch (error) {
    const text = safeText(error, [secret]);
    // Only Redis's own refusal proves anything; a timeout or a dropped connection does not.
    return text.startsWith("WRONGPASS") ? { accepted: false, refusal: text } : { accepted: null, error: text };
  } finally {
    client.disconnect();
  }
}

/**
 * The message of a driver error with every known secret and every echoed password rule (`'>…'`, `'<…'`, `'#…'`)
 * replaced: `ERR Error in ACL SETUSER modifier '<pw': …` must not carry `pw` onwards. Only the message: ioredis puts
 * the command's arguments on the error object itself.
 */
export function safeText(error: unknown, secrets: readonly string[]): string {
  let text = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) {
    if (secret.length > 0) text = text.split(secret).join("[REDACTED]");
  }
  text = text.replace(/'[<>#][^']*'/g, "'[REDACTED]'");
  return text.slice(0, 300);
}
