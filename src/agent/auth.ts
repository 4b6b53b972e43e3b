// Auto-auth: where the agent's own token comes from, read afresh for every call so rotating platform tokens work.
//
// A workload token (OIDC, JWT-SVID) obtains one decision at the broker (single use), so a token that was already sent
// with a request is never sent with another: file sources wait for the platform to write a new one, the GitHub source
// asks the runtime for a new one each time. Reads, renewals and completions may reuse a token while it is valid.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { AuthConfig } from "./config.js";

/** `request`: the token will ask for (or collect) a credential and must be fresh; `call`: anything else. */
export type TokenPurpose = "request" | "call";

export interface AuthSource {
  /** What the source is, for logs (a path or variable name, never a token). */
  readonly describe: string;
  token(purpose: TokenPurpose): Promise<string>;
  /** Variable names the source reads: a supervised process must not inherit them. */
  readonly variables: readonly string[];
}

/** No usable token now (file missing, already used, runtime refused); retried with backoff. */
export class AuthUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AuthUnavailableError";
  }
}

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Remembers hashes of tokens sent with requests (bounded), so none is sent twice. */
class UsedTokens {
  readonly #seen = new Set<string>();
  has(token: string): boolean {
    return this.#seen.has(hash(token));
  }
  add(token: string): void {
    this.#seen.add(hash(token));
    if (this.#seen.size > 1024) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }
}

function hash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function createAuthSource(
  config: AuthConfig,
  env: NodeJS.ProcessEnv = process.env,
  fetchImpl: FetchLike = (input, init) => fetch(input, init),
): AuthSource {
  switch (config.type) {
    case "api-key":
      return "env" in config.key ? apiKeyFromEnv(config.key.env, env) : fileSource(config.key.file, false);
    case "oidc-file":
    case "spiffe-file":
      return fileSource(config.path, true);
    case "github-actions":
      return githubActions(config.audience, env, fetchImpl);
    case "gitlab-ci":
      return gitlabCi(config.variable, env);
  }
}

function apiKeyFromEnv(name: string, env: NodeJS.ProcessEnv): AuthSource {
  return {
    describe: `API key from $${name}`,
    variables: [name],
    async token() {
      const value = env[name]?.trim();
      if (!value) throw new AuthUnavailableError(`the variable ${name} is empty`);
      return value;
    },
  };
}

/** A token file (API key, projected service-account token, JWT-SVID), read on every call. */
function fileSource(path: string, singleUse: boolean): AuthSource {
  const used = new UsedTokens();
  return {
    describe: `token file ${path}`,
    variables: [],
    async token(purpose) {
      let value: string;
      try {
        value = (await readFile(path, "utf8")).trim();
      } catch (error) {
        throw new AuthUnavailableError(
          `cannot read token file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
      if (value === "") throw new AuthUnavailableError(`token file ${path} is empty`);
      if (singleUse && purpose === "request") {
        if (used.has(value)) {
          throw new AuthUnavailableError(`the token in ${path} was already used for a request; waiting for a new one`);
        }
        used.add(value);
      }
      return value;
    },
  };
}

/** GitHub Actions: a fresh OIDC token from the runtime for every request, with the configured audience. */
function githubActions(audience: string, env: NodeJS.ProcessEnv, fetchImpl: FetchLike): AuthSource {
  const used = new UsedTokens();
  let last: { token: string; exp: number } | null = null;
  const fetchToken = async (): Promise<string> => {
    const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!url || !bearer) {
      throw new AuthUnavailableError(
        "ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN are not set (the job needs `permissions: id-token: write`)",
      );
    }
    const target = new URL(url);
    target.searchParams.set("audience", audience);
    let response: Response;
    try {
      response = await fetchImpl(target.toString(), {
        headers: { authorization: `bearer ${bearer}`, accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new AuthUnavailableError("cannot reach the Actions token endpoint", { cause: error });
    }
    if (!response.ok) throw new AuthUnavailableError(`the Actions token endpoint answered ${response.status}`);
    const body = (await response.json().catch(() => null)) as { value?: unknown } | null;
    if (typeof body?.value !== "string" || body.value === "") {
      throw new AuthUnavailableError("the Actions token endpoint's answer has no token");
    }
    last = { token: body.value, exp: expiryOf(body.value) };
    return body.value;
  };
  return {
    describe: `GitHub Actions OIDC (audience ${audience})`,
    variables: ["ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
    async token(purpose) {
      if (purpose === "call" && last !== null && last.exp - Date.now() > 60_000) return last.token;
      const token = await fetchToken();
      if (purpose === "request") {
        if (used.has(token)) throw new AuthUnavailableError("the Actions runtime handed out a token used before");
        used.add(token);
      }
      return token;
    },
  };
}

/** GitLab CI: the job's `id_tokens` variable. It holds one token, so it can ask for one credential. */
function gitlabCi(variable: string, env: NodeJS.ProcessEnv): AuthSource {
  const used = new UsedTokens();
  return {
    describe: `GitLab CI id_token $${variable}`,
    variables: [variable],
    async token(purpose) {
      const value = env[variable]?.trim();
      if (!value) throw new AuthUnavailableError(`the variable ${variable} is not set (declare it under id_tokens)`);
      if (purpose === "request") {
        if (used.has(value)) {
          throw new AuthUnavailableError(
            `the token in ${variable} was already used for a request; a GitLab job's token asks once`,
          );
        }
        used.add(value);
      }
      return value;
    },
  };
}

/** `exp` of a JWT in milliseconds (unverified: only to know when to ask again), 0 when unreadable. */
function expiryOf(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      exp?: unknown;
    };
    return typeof payload.exp === "number" ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}
