// withAccess: get a credential, run a task with it, and end the grant afterwards whatever the task did.
import type { EphemeraClient } from "./client.js";
import { fromEnv } from "./client.js";
import { EphemeraApiError, EphemeraConnectionError } from "./errors.js";
import type { Duration, Grant, RequestInput, RequestResult } from "./types.js";
import { requestAndWait, type WaitOptions } from "./wait.js";

/** The credential a task receives; `env` is what `ephemera exec` puts in a child's environment. */
export interface Credential {
  readonly grantId: string;
  /** ISO time the access ends unless renewed. */
  readonly expiresAt: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /**
   * The environment for a process that should run with this credential: the caller's environment (default
   * `process.env`) without anything of the broker's (every `EPHEMERA_*` variable, the client's own token, any API
   * key), plus `env`, `EPHEMERA_GRANT_ID` and `EPHEMERA_EXPIRES_AT`. `clean` keeps only PATH, HOME, LANG, TZ, TERM and
   * `keep` from the caller's. Use it instead of `{ ...process.env, ...credential.env }`, which hands on the broker key.
   */
  readonly childEnv: (options?: ChildEnvOptions) => Record<string, string>;
}

export interface ChildEnvOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly clean?: boolean;
  readonly keep?: readonly string[];
}

export interface WithAccessOptions {
  readonly duration?: Duration;
  readonly justification?: string;
  readonly ticket?: string;
  readonly intent?: RequestInput["intent"];
  /** Defaults to `fromEnv()` (EPHEMERA_URL and EPHEMERA_TOKEN). */
  readonly client?: EphemeraClient;
  /**
   * Told when ending the grant failed after the task threw (the task's error is the one rethrown). When the task
   * succeeded, the failure is thrown instead. Either way the broker still ends the grant at its expiry.
   */
  readonly onCompleteError?: (error: unknown, grantId: string) => void;
  /**
   * When approvers must agree first: wait for them (polling, then collecting) instead of throwing
   * `approval_required`. `true` waits with the defaults (15 min); an object sets the timeout, polling and a hook.
   */
  readonly wait?: boolean | WaitOptions;
}

/**
 * Requests `entitlement`, calls `fn` with the credential and completes the grant in a `finally`, so access is removed
 * whether `fn` returns or throws. Returns what `fn` returns; rethrows what `fn` throws.
 */
export async function withAccess<T>(
  entitlement: string,
  fn: (credential: Credential) => Promise<T> | T,
  options: WithAccessOptions = {},
): Promise<T> {
  const client = options.client ?? fromEnv();
  const input: RequestInput = {
    entitlement,
    ...(options.duration === undefined ? {} : { duration: options.duration }),
    ...(options.justification === undefined ? {} : { justification: options.justification }),
    ...(options.ticket === undefined ? {} : { ticket: options.ticket }),
    ...(options.intent === undefined ? {} : { intent: options.intent }),
  };
  const wait = options.wait === true ? {} : options.wait || undefined;
  const { grant, credential }: RequestResult =
    wait === undefined ? await client.requestNow(input) : await requestAndWait(client, input, wait);
  const expiresAt = grant.expiresAt ?? credential.fields.expiresAt ?? "";
  const env = Object.freeze({ ...credential.env });
  const given: Credential = Object.freeze({
    grantId: grant.id,
    expiresAt,
    fields: Object.freeze({ ...credential.fields }),
    env,
    childEnv: (childOptions: ChildEnvOptions = {}) =>
      client.childEnvironment({
        env: childOptions.env ?? process.env,
        credential: env,
        grantId: grant.id,
        expiresAt,
        ...(childOptions.clean === undefined ? {} : { clean: childOptions.clean }),
        ...(childOptions.keep === undefined ? {} : { keep: childOptions.keep }),
      }),
  });

  // Completion runs on both paths (the `finally` of the task); written out so a failed completion never hides fn's error.
  let result: T;
  try {
    result = await fn(given);
  } catch (error) {
    try {
      await completeGrant(client, grant.id);
    } catch (completeError) {
      reportQuietly(options, completeError, grant.id);
    }
    throw error;
  }
  await completeGrant(client, grant.id);
  return result;
}

function reportQuietly(options: WithAccessOptions, error: unknown, grantId: string): void {
  try {
    options.onCompleteError?.(error, grantId);
  } catch {
    // The task's own error is what the caller must see.
  }
}

/**
 * Completes a grant, retrying briefly when the broker cannot be reached or is not ready. Resolves with the ended grant,
 * or null when the grant had already ended (expired or revoked meanwhile: 409 invalid_state), which is not a failure.
 */
export async function completeGrant(
  client: EphemeraClient,
  grantId: string,
  attempts = 3,
  delayMs = 250,
): Promise<Grant | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.complete(grantId);
    } catch (error) {
      if (error instanceof EphemeraApiError && error.status === 409 && error.code === "invalid_state") return null;
      const transient =
        error instanceof EphemeraConnectionError || (error instanceof EphemeraApiError && error.status === 503);
      if (!transient || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
    }
  }
}
