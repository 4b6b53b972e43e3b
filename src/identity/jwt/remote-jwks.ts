// An issuer's published keys, fetched lazily over HTTPS (OIDC discovery or a JWKS URL), cached, refetched rarely.
import type { CryptoKey } from "jose";
import type { Clock, Logger } from "../../support/index.js";
import { isLoopbackHostname } from "../../support/index.js";
import { describeUrl, fetchJson } from "./fetch-json.js";
import { KeySet, readJwks } from "./key-set.js";
import { type KeyLookup, KeysUnavailableError } from "./verify-workload-jwt.js";

export interface RemoteJwksOptions {
  /** The configured issuer: a discovery document must name exactly this issuer. */
  readonly issuer: string;
  /** `discovery` reads `<issuer>/.well-known/openid-configuration` for `jwks_uri`; `url` is the JWKS itself. */
  readonly source: { readonly discovery: true } | { readonly url: string };
  /** Allows `http://` to 127.0.0.1, localhost or [::1] (tests and the demo issuer); HTTPS is required otherwise. */
  readonly allowInsecureLoopback: boolean;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Per request (discovery and JWKS each). Default 5 s. */
  readonly timeoutMs?: number;
  /** Largest document read. Default 256 KiB. */
  readonly maxBytes?: number;
  /** How long a fetched set is used before it is fetched again. Default 10 min. */
  readonly cacheMs?: number;
  /** An unknown kid refetches at most this often. Default 30 s. */
  readonly unknownKidRefreshMs?: number;
  /** While no set was ever fetched, a failed fetch is retried at most this often. Default 2 s. */
  readonly failureRetryMs?: number;
}

/** Checks a URL the broker may fetch keys from; returns the problem, or null when it is acceptable. */
export function keyUrlProblem(url: string, allowInsecureLoopback: boolean): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.username || parsed.password) return "must not carry credentials";
  if (parsed.hash) return "must not have a fragment";
  if (parsed.protocol === "https:") return null;
  if (parsed.protocol === "http:" && allowInsecureLoopback && isLoopbackHostname(parsed.hostname)) return null;
  if (parsed.protocol === "http:" && isLoopbackHostname(parsed.hostname)) {
    return "uses http://; HTTPS is required (set allowInsecureLoopback: true for a local test issuer)";
  }
  return "must use https://";
}

export class RemoteJwks implements KeyLookup {
  readonly #options: RemoteJwksOptions;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #cacheMs: number;
  readonly #unknownKidRefreshMs: number;
  readonly #failureRetryMs: number;
  #set: KeySet | null = null;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError: KeysUnavailableError | null = null;
  #inflight: Promise<void> | null = null;
  /** How many documents were fetched (discovery and JWKS); for tests and metrics. */
  fetches = 0;

  constructor(options: RemoteJwksOptions) {
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxBytes = options.maxBytes ?? 256 * 1024;
    this.#cacheMs = options.cacheMs ?? 600_000;
    this.#unknownKidRefreshMs = options.unknownKidRefreshMs ?? 30_000;
    this.#failureRetryMs = options.failureRetryMs ?? 2_000;
    if ("url" in options.source) {
      const problem = keyUrlProblem(options.source.url, options.allowInsecureLoopback);
      if (problem) throw new Error(`JWKS URL ${problem}`);
    } else {
      const problem = keyUrlProblem(options.issuer, options.allowInsecureLoopback);
      if (problem) throw new Error(`issuer URL ${problem}`);
    }
  }

  async key(kid: string | undefined, alg: string): Promise<CryptoKey | null> {
    // Tokens that arrive while the set is being fetched wait for it, rather than find no set and be refused.
    if (this.#inflight) await this.#inflight;
    const now = this.#options.clock.now();
    if (!this.#set) {
      if (now - this.#attemptedAt >= this.#failureRetryMs) await this.#refresh();
    } else if (now - this.#fetchedAt >= this.#cacheMs && now - this.#attemptedAt >= this.#failureRetryMs) {
      await this.#refresh();
    } else if (kid !== undefined && !this.#set.has(kid) && now - this.#attemptedAt >= this.#unknownKidRefreshMs) {
      // The issuer may have rotated; look once, then not again for a while, so junk kids cannot make us hammer it.
      await this.#refresh();
    }
    if (!this.#set) throw this.#lastError ?? new KeysUnavailableError("the issuer's keys have not been fetched");
    return this.#set.key(kid, alg);
  }

  #refresh(): Promise<void> {
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async #load(): Promise<void> {
    this.#attemptedAt = this.#options.clock.now();
    try {
      const jwksUrl = "url" in this.#options.source ? this.#options.source.url : await this.#discover();
      const { keys, problems } = readJwks(await this.#fetchJson(jwksUrl));
      if (keys.length === 0) {
        throw new KeysUnavailableError(`${describeUrl(jwksUrl)} holds no usable signing key`);
      }
      if (problems.length > 0) {
        this.#options.logger?.warn({ url: describeUrl(jwksUrl), skipped: problems }, "JWKS keys skipped");
      }
      this.#set = new KeySet(keys);
      this.#fetchedAt = this.#options.clock.now();
      this.#lastError = null;
    } catch (error) {
      const failure =
        error instanceof KeysUnavailableError
          ? error
          : new KeysUnavailableError(`fetching the keys of ${this.#options.issuer} failed`, { cause: error });
      this.#lastError = failure;
      // A set fetched before stays in use: an issuer's brief outage must not lock every workload out.
      this.#options.logger?.warn(
        { issuer: this.#options.issuer, err: failure.message, keptPrevious: this.#set !== null },
        "could not fetch an issuer's keys",
      );
    }
  }

  async #discover(): Promise<string> {
    const url = `${this.#options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const doc = (await this.#fetchJson(url)) as { issuer?: unknown; jwks_uri?: unknown } | null;
    if (typeof doc !== "object" || doc === null) throw new KeysUnavailableError(`${describeUrl(url)} is not an object`);
    if (doc.issuer !== this.#options.issuer) {
      throw new KeysUnavailableError(`${describeUrl(url)} names another issuer than the configured one`);
    }
    if (typeof doc.jwks_uri !== "string") throw new KeysUnavailableError(`${describeUrl(url)} has no jwks_uri`);
    const problem = keyUrlProblem(doc.jwks_uri, this.#options.allowInsecureLoopback);
    if (problem) throw new KeysUnavailableError(`the discovered jwks_uri ${problem}`);
    return doc.jwks_uri;
  }

  async #fetchJson(url: string): Promise<unknown> {
    this.fetches++;
    return (await fetchJson(url, { timeoutMs: this.#timeoutMs, maxBytes: this.#maxBytes })).body;
  }
}
