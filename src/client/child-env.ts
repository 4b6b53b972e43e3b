// The environment a workload's process receives with a credential: the task's credential and nothing of the broker's.
//
// A process started with a credential must not be able to ask for more: it gets no variable that holds an Ephemera API
// key, console session or workload token, whatever the variable is called. Every inherited `EPHEMERA_*` variable is
// dropped (the documented ones are set afresh from the grant), and so is any variable whose value is the caller's own
// token or looks like an Ephemera API key, the GitHub Actions OIDC request variables (with them a process can mint a
// fresh workload token) and any variable named in `withhold`.

/** Variables a clean environment keeps from the caller's, besides the names asked for. */
export const CLEAN_ENV_KEEP: readonly string[] = ["PATH", "HOME", "LANG", "TZ", "TERM"];

/**
 * Variables with which a process could mint a workload token for the broker (GitHub Actions' OIDC request endpoint
 * and its bearer): withheld like a token. Other platforms name theirs in config (`--withhold` / `withhold`).
 */
export const PLATFORM_TOKEN_VARIABLES: readonly string[] = [
  "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
  "ACTIONS_ID_TOKEN_REQUEST_URL",
];

/** An Ephemera API key (`ephk_<id>_<secret>`) anywhere in a value. */
const API_KEY = /ephk_[0-9a-z]{10,40}_[A-Za-z0-9_-]{43}/;

export interface ChildEnvironmentInput {
  /** The caller's environment (usually `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The credential's variables (`credential.env`), set as given. */
  readonly credential: Readonly<Record<string, string>>;
  readonly grantId: string;
  /** ISO time the access ends unless renewed. */
  readonly expiresAt?: string | null;
  /** The token the caller authenticates to the broker with: a variable holding it is withheld, whatever its name. */
  readonly callerToken?: string;
  /** Pass only PATH, HOME, LANG, TZ, TERM and `keep` from `env` (after the same filtering). */
  readonly clean?: boolean;
  /** With `clean`, further variable names to pass through. */
  readonly keep?: readonly string[];
  /** Further variables to withhold, e.g. a CI platform's OIDC token variables (GitLab `id_tokens` names). */
  readonly withhold?: readonly string[];
}

/**
 * Builds a child's environment: the caller's variables minus anything of the broker's, then the credential's variables
 * and `EPHEMERA_GRANT_ID` / `EPHEMERA_EXPIRES_AT`.
 */
export function childEnvironment(input: ChildEnvironmentInput): Record<string, string> {
  const allowed = input.clean === true ? new Set([...CLEAN_ENV_KEEP, ...(input.keep ?? [])]) : null;
  const withheld = new Set(input.withhold ?? []);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.env)) {
    if (value === undefined) continue;
    if (allowed !== null && !allowed.has(name)) continue;
    if (withheld.has(name)) continue;
    if (isBrokerSecret(name, value, input.callerToken)) continue;
    out[name] = value;
  }
  Object.assign(out, input.credential);
  out.EPHEMERA_GRANT_ID = input.grantId;
  if (input.expiresAt) out.EPHEMERA_EXPIRES_AT = input.expiresAt;
  return out;
}

/** True for a variable a credential's process must not inherit. */
export function isBrokerSecret(name: string, value: string, callerToken?: string): boolean {
  if (name.toUpperCase().startsWith("EPHEMERA_") || PLATFORM_TOKEN_VARIABLES.includes(name)) return true;
  if (callerToken !== undefined && callerToken.length > 0) {
    // A long token is withheld wherever it appears (`Bearer …`, a URL); a short one only as the whole value.
    if (value === callerToken || (callerToken.length >= 16 && value.includes(callerToken))) return true;
  }
  return API_KEY.test(value);
}
