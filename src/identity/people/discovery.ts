// A sign-in provider's metadata from OpenID discovery: its endpoints and, through its jwks_uri, its signing keys.
import type { CryptoKey } from "jose";
import type { Clock, Logger } from "../../support/index.js";
import { describeUrl, fetchJson } from "../jwt/fetch-json.js";
import { keyUrlProblem, RemoteJwks } from "../jwt/remote-jwks.js";
import { type KeyLookup, KeysUnavailableError } from "../jwt/verify-workload-jwt.js";

/** What the broker reads of a discovery document; each URL checked like the issuer (HTTPS outside loopback). */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  /** RP-initiated logout, when the provider offers it. */
  readonly endSessionEndpoint: string | null;
  readonly deviceAuthorizationEndpoint: string | null;
}

export interface DiscoveryOptions {
  readonly issuer: string;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** How long a fetched document is used. Default 10 min. */
  readonly cacheMs?: number;
  readonly timeoutMs?: number;
}

/** Plain http is accepted only for a provider on this machine (tests, a local Keycloak); HTTPS otherwise. */
export function isLoopbackIssuer(issuer: string): boolean {
  return keyUrlProblem(issuer, false) !== null && keyUrlProblem(issuer, true) === null;
}

/** Reads and checks a discovery document: it must name exactly the configured issuer. */
export function readProviderMetadata(document: unknown, issuer: string): ProviderMetadata {
  const where = `${describeUrl(discoveryUrl(issuer))}`;
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new KeysUnavailableError(`${where} is not a JSON object`);
  }
  const doc = document as Record<string, unknown>;
  if (doc.issuer !== issuer) throw new KeysUnavailableError(`${where} names another issuer than the configured one`);
  const loopback = isLoopbackIssuer(issuer);
  const url = (name: string, required: boolean): string | null => {
    const value = doc[name];
    if (value === undefined && !required) return null;
    if (typeof value !== "string") throw new KeysUnavailableError(`${where} has no ${name}`);
    const problem = keyUrlProblem(value, loopback);
    if (problem) throw new KeysUnavailableError(`the discovered ${name} ${problem}`);
    return value;
  };
  const methods = doc.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes("S256")) {
    throw new KeysUnavailableError(`${where} does not offer PKCE with S256`);
  }
  return {
    issuer,
    authorizationEndpoint: url("authorization_endpoint", true) as string,
    tokenEndpoint: url("token_endpoint", true) as string,
    jwksUri: url("jwks_uri", true) as string,
    endSessionEndpoint: url("end_session_endpoint", false),
    deviceAuthorizationEndpoint: url("device_authorization_endpoint", false),
  };
}

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
}

/**
 * The provider's metadata, fetched on first use and again after `cacheMs`; a document fetched before stays in use
 * while the provider cannot be reached. Its key lookup follows the discovered jwks_uri.
 */
export class ProviderDiscovery implements KeyLookup {
  readonly #options: DiscoveryOptions;
  #metadata: ProviderMetadata | null = null;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #keys: RemoteJwks | null = null;
  #inflight: Promise<ProviderMetadata> | null = null;

  constructor(options: DiscoveryOptions) {
    const problem = keyUrlProblem(options.issuer, true);
    if (problem) throw new Error(`issuer URL ${problem}`);
    this.#options = options;
  }

  async metadata(): Promise<ProviderMetadata> {
    const now = this.#options.clock.now();
    if (this.#metadata && now - this.#fetchedAt < (this.#options.cacheMs ?? 600_000)) return this.#metadata;
    this.#inflight ??= this.#load().finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  async key(kid: string | undefined, alg: string): Promise<CryptoKey | null> {
    await this.metadata();
    if (!this.#keys) throw new KeysUnavailableError("the provider's keys are not known yet");
    return this.#keys.key(kid, alg);
  }

  async #load(): Promise<ProviderMetadata> {
    try {
      const { body } = await fetchJson(discoveryUrl(this.#options.issuer), {
        timeoutMs: this.#options.timeoutMs ?? 5_000,
        maxBytes: 256 * 1024,
      });
      const metadata = readProviderMetadata(body, this.#options.issuer);
      if (this.#keys === null || this.#metadata?.jwksUri !== metadata.jwksUri) {
        this.#keys = new RemoteJwks({
          issuer: this.#options.issuer,
          source: { url: metadata.jwksUri },
          allowInsecureLoopback: isLoopbackIssuer(this.#options.issuer),
          clock: this.#options.clock,
          ...(this.#options.logger ? { logger: this.#options.logger } : {}),
        });
      }
      this.#metadata = metadata;
      this.#fetchedAt = this.#options.clock.now();
      return metadata;
    } catch (error) {
      const failure =
        error instanceof KeysUnavailableError
          ? error
          : new KeysUnavailableError(`discovering ${this.#options.issuer} failed`, { cause: error });
      this.#options.logger?.warn(
        { issuer: this.#options.issuer, err: failure.message, keptPrevious: this.#metadata !== null },
        "could not read the sign-in provider's discovery document",
      );
      if (this.#metadata) return this.#metadata;
      throw failure;
    }
  }
}
