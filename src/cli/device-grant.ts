// The OAuth 2.0 device authorization grant (RFC 8628) as a public client: discover the provider, ask for a user code,
// let the person approve it in any browser, and poll the token endpoint at the provider's pace until an ID token.
import { isLoopbackHost, sleep } from "../client/index.js";
import { CliError, EXIT } from "./exit-codes.js";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ProviderEndpoints {
  /** Null when the provider does not offer the device grant. */
  readonly deviceAuthorizationEndpoint: string | null;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
}

/** What the person is shown: where to go and the code to enter (or the complete URI, which carries the code). */
export interface DevicePrompt {
  readonly verificationUri: string;
  readonly userCode: string;
  readonly verificationUriComplete: string | null;
  readonly expiresInSeconds: number;
}

export interface DeviceGrantOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
  readonly fetch: FetchLike;
  /** Milliseconds since the epoch; injected so tests can run the poll loop without waiting. */
  readonly now: () => number;
  readonly wait: (ms: number) => Promise<void>;
  readonly prompt: (prompt: DevicePrompt) => void;
  /** Bounds each call to the provider. */
  readonly timeoutMs?: number;
}

export const DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 3.5: poll every 5 s unless told otherwise; `slow_down` adds 5 s for this and every later poll. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;
const MAX_BODY = 256 * 1024;
const ERROR_CODE = /^[a-z_]{1,64}$/;

/** The provider must speak HTTPS, except on this machine (a test or local provider). */
export function providerUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return null;
  return "must be an https URL (plain http only on this machine)";
}

export function loginFailed(message: string, exitCode: (typeof EXIT)[keyof typeof EXIT] = EXIT.error): CliError {
  return new CliError(message, exitCode);
}

export async function readJson(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ status: number; body: unknown }> {
  let response: Response;
  let text: string;
  try {
    response = await fetchFn(url, { ...init, redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
  } catch (error) {
    throw loginFailed(
      `the identity provider at ${new URL(url).origin} could not be reached (${(error as Error).message})`,
      EXIT.unreachable,
    );
  }
  if (text.length > MAX_BODY)
    throw loginFailed(`the identity provider's answer from ${new URL(url).origin} is too large`);
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    throw loginFailed(`the identity provider's answer from ${new URL(url).origin} (${response.status}) is not JSON`);
  }
}

/** Reads the provider's discovery document; it must name `issuer` exactly, and offer PKCE with S256 if it lists methods. */
export async function discoverProvider(
  issuer: string,
  fetchFn: FetchLike,
  timeoutMs = 10_000,
): Promise<ProviderEndpoints> {
  const problem = providerUrlProblem(issuer);
  if (problem) throw loginFailed(`the issuer ${problem}`, EXIT.usage);
  const where = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const { status, body } = await readJson(fetchFn, where, { headers: { accept: "application/json" } }, timeoutMs);
  if (status !== 200 || typeof body !== "object" || body === null) {
    throw loginFailed(`the identity provider's discovery document ${where} answered ${status}`);
  }
  const doc = body as Record<string, unknown>;
  if (doc.issuer !== issuer) throw loginFailed(`${where} names another issuer than ${issuer}`);
  const endpoint = (name: string): string | null => {
    const value = doc[name];
    if (value === undefined) return null;
    if (typeof value !== "string") throw loginFailed(`${where} has no valid ${name}`);
    const urlProblem = providerUrlProblem(value);
    if (urlProblem) throw loginFailed(`the provider's ${name} ${urlProblem}`);
    return value;
  };
  const required = (name: string): string => {
    const value = endpoint(name);
    if (value === null) throw loginFailed(`${where} has no ${name}`);
    return value;
  };
  const methods = doc.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes("S256")) throw loginFailed(`${where} does not offer PKCE with S256`);
  return {
    deviceAuthorizationEndpoint: endpoint("device_authorization_endpoint"),
    authorizationEndpoint: required("authorization_endpoint"),
    tokenEndpoint: required("token_endpoint"),
  };
}

export function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(fields).toString(),
  };
}

/** The OAuth error code of an answer, when it is a well-formed one; never its description (it may echo input). */
export function oauthError(body: unknown): string | null {
  const error = (body as { error?: unknown } | null)?.error;
  return typeof error === "string" && ERROR_CODE.test(error) ? error : null;
}

/**
 * Runs the grant to its end: answers the ID token once the person approved, or throws a CliError saying why not
 * (denied, the code expired, the provider refused the client). The device code never leaves this function.
 */
export async function runDeviceGrant(options: DeviceGrantOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const endpoints = await discoverProvider(options.issuer, options.fetch, timeoutMs);
  if (endpoints.deviceAuthorizationEndpoint === null) {
    throw loginFailed(
      `the identity provider ${options.issuer} does not offer the device authorization grant; try ephemera login --browser`,
    );
  }
  const started = await readJson(
    options.fetch,
    endpoints.deviceAuthorizationEndpoint,
    form({ client_id: options.clientId, scope: options.scope }),
    timeoutMs,
  );
  if (started.status !== 200) {
    const error = oauthError(started.body) ?? `status ${started.status}`;
    throw loginFailed(
      `the identity provider refused to start a device sign-in for client ${options.clientId} (${error})`,
    );
  }
  const s = started.body as Record<string, unknown>;
  const deviceCode = s.device_code;
  const userCode = s.user_code;
  const verificationUri = s.verification_uri;
  if (typeof deviceCode !== "string" || typeof userCode !== "string" || typeof verificationUri !== "string") {
    throw loginFailed(
      "the identity provider's device authorization answer lacks device_code, user_code or verification_uri",
    );
  }
  const expiresIn = typeof s.expires_in === "number" && s.expires_in > 0 ? s.expires_in : 600;
  let intervalS = typeof s.interval === "number" && s.interval > 0 ? s.interval : DEFAULT_INTERVAL_S;
  const complete = typeof s.verification_uri_complete === "string" ? s.verification_uri_complete : null;
  for (const [name, value] of [
    ["verification_uri", verificationUri],
    ["verification_uri_complete", complete],
  ] as const) {
    if (value !== null && providerUrlProblem(value))
      throw loginFailed(`the provider's ${name} ${providerUrlProblem(value)}`);
  }
  options.prompt({ verificationUri, userCode, verificationUriComplete: complete, expiresInSeconds: expiresIn });

  const deadline = options.now() + expiresIn * 1000;
  const expired = () =>
    loginFailed("the device code expired before the sign-in was approved: run ephemera login again", EXIT.forbidden);
  for (;;) {
    if (options.now() + intervalS * 1000 > deadline) {
      await options.wait(Math.max(0, deadline - options.now()));
      throw expired();
    }
    await options.wait(intervalS * 1000);
    const polled = await readJson(
      options.fetch,
      endpoints.tokenEndpoint,
      form({ grant_type: DEVICE_GRANT_TYPE, device_code: deviceCode, client_id: options.clientId }),
      timeoutMs,
    );
    if (polled.status === 200) {
      const idToken = (polled.body as { id_token?: unknown } | null)?.id_token;
      if (typeof idToken !== "string" || idToken.length === 0) {
        throw loginFailed("the identity provider answered no ID token (does the client ask for the openid scope?)");
      }
      return idToken;
    }
    const error = oauthError(polled.body);
    if (error === "authorization_pending") continue;
    if (error === "slow_down") {
      intervalS += SLOW_DOWN_S;
      continue;
    }
    if (error === "access_denied") {
      throw loginFailed("the sign-in was denied at the identity provider; nothing was stored", EXIT.forbidden);
    }
    if (error === "expired_token") throw expired();
    throw loginFailed(
      `the identity provider refused the device sign-in (${error ?? `status ${polled.status}`})`,
      EXIT.forbidden,
    );
  }
}

/** The production wait: the shared abortable sleep. */
export const realWait = (ms: number): Promise<void> => sleep(ms);
