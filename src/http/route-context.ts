// What every route is handed and reads off a request: the services the server was built with, the authenticated
// caller and the request's facts. Its own file, so routes need not import the server that registers them.
import type { FastifyRequest } from "fastify";
import type { CheckpointPublicJwk, SignedCheckpoint } from "../audit/index.js";
import type { RateLimits } from "../config/index.js";
import type { Connector } from "../connectors/index.js";
import type { ClientSignal, Identity, RequestFacts } from "../domain/index.js";
import type { AuthenticationFacts, AuthenticatorChain, IdentityRegistry, PersonSignIn } from "../identity/index.js";
import type {
  ConsoleSession,
  CredentialCheck,
  LifecycleDeps,
  LifecycleMetrics,
  Maintenance,
} from "../lifecycle/index.js";
import { factsOf } from "../lifecycle/index.js";
import type { Logger } from "../support/index.js";
import { EphemeraError } from "../support/index.js";
import type { TokenAuthority } from "../tokens/index.js";
import { clientSignal } from "./client-signal.js";

export interface HttpServices {
  readonly deps: LifecycleDeps;
  readonly auth: AuthenticatorChain;
  /** Records when each identity was last seen authenticating. */
  readonly identities: IdentityRegistry;
  readonly tokens: TokenAuthority;
  readonly metrics: LifecycleMetrics;
  readonly logger: Logger;
  readonly bodyLimit: number;
  readonly version: string;
  /** Reconciliation and admin rotation, run on demand by admins. */
  readonly maintenance: Maintenance;
  /** Every configured target's connector, by target id. */
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly readiness: () => Promise<{ ready: boolean; checks: Record<string, boolean> }>;
  /** The public key auditors pin to verify checkpoints; absent when checkpoints are off. */
  readonly checkpointKey?: { readonly keyId: string; readonly publicJwk: CheckpointPublicJwk };
  /** The last signed checkpoint, or null before the first. */
  readonly lastCheckpoint?: () => Promise<SignedCheckpoint | null>;
  /** The URL callers reach the broker at; DPoP proofs name it (`htu`). */
  readonly publicUrl?: string;
  /** Serve HTTPS with this material; with `clientCa`, ask for client certificates (they are checked, not required). */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa: string | null } | null;
  /** Full names of every configured entitlement: the console lets in identities that may approve one of them. */
  readonly entitlementNames?: readonly string[];
  /** Per-source limits on failed authentications and console sign-ins; null for none. */
  readonly rateLimit: RateLimits | null;
  /** Refusals of one kind from one source in this window: one event, then one summary (default 60 s). */
  readonly refusalWindowMs: number;
  /** Whether the credential a console session signed in with is still valid (an API key not removed). */
  readonly credentialValid: CredentialCheck;
  /** A console session unused this long ends (default 30 min). */
  readonly consoleIdleMs: number;
  /** People's sign-in with the company's identity provider (console and command line); absent or null when off. */
  readonly personSignIn?: PersonSignIn | null;
  /** Whether the console takes a pasted API key (`console.signIn.apiKey`); default true. */
  readonly apiKeySignIn?: boolean;
  /** Proxies (addresses or CIDRs) whose X-Forwarded-For gives the caller's address; none by default. */
  readonly trustProxy: readonly string[];
}

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller; set by the auth hook on every /v1 route. */
    caller: Identity | null;
    /** How the caller authenticated and what that proved (claims, single-use token); set with `caller`. */
    authentication: AuthenticationFacts | null;
    /** The console session the caller came with (cookie), when it came with one instead of a bearer credential. */
    consoleSession: { readonly session: ConsoleSession; readonly cookie: string } | null;
  }
}

/** The authenticated caller of a /v1 route (the hook guarantees one). */
export function callerOf(request: FastifyRequest): Identity {
  if (!request.caller) throw new EphemeraError("unauthenticated", "authentication required");
  return request.caller;
}

/** What policy may read about the HTTP request behind a privileged action: address, authentication, client. */
export function requestFacts(request: FastifyRequest): RequestFacts {
  return factsOf(requestMeta(request));
}

/** What a lifecycle stage is told about the HTTP request it serves: where it came from and how the caller proved itself. */
export function requestMeta(request: FastifyRequest): {
  sourceAddress: string;
  authentication: AuthenticationFacts | null;
  client: ClientSignal;
} {
  return { sourceAddress: request.ip, authentication: request.authentication, client: clientSignal(request.headers) };
}
