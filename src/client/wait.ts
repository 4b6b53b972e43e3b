// Waiting for approval: poll a pending request until approvers decide, then collect its credential once.
import type { EphemeraClient } from "./client.js";
import { isPending, isReplay } from "./client.js";
import { EphemeraApiError, EphemeraConnectionError } from "./errors.js";
import { sleep } from "./sleep.js";
import type { AccessRequest, RequestInput, RequestResult } from "./types.js";

export interface WaitOptions {
  /** Give up after this long (default 15 min); the request is cancelled then, so no approval is left to collect. */
  readonly timeoutMs?: number;
  /** Between two reads of the request (default 2 s). */
  readonly pollMs?: number;
  /** Told once when the request turns out to need approval: its id and who may approve are in `request.decision`. */
  readonly onPending?: (request: AccessRequest) => void;
  /** Stops waiting (the request is cancelled). */
  readonly signal?: AbortSignal;
  /**
   * The client that collects the credential. A workload token is used up by collecting, so a caller holding
   * single-use tokens passes a client with a fresh one; default: the client that asked.
   */
  readonly collectWith?: () => EphemeraClient | Promise<EphemeraClient>;
}

const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_POLL_MS = 2_000;
/** States a request cannot leave: waiting for them to change is pointless. */
const FINAL = new Set(["denied", "cancelled", "timed_out", "failed", "issued"]);

/**
 * Asks for `input` and resolves with the credential: at once when policy approves, otherwise after approvers agree
 * (polling the request, then collecting). Throws EphemeraApiError `approval_denied` when the request is denied,
 * cancelled or times out, and `approval_wait_timeout` when `timeoutMs` passes first.
 */
export async function requestAndWait(
  client: EphemeraClient,
  input: RequestInput,
  options: WaitOptions = {},
): Promise<RequestResult> {
  const answer = await client.request(input);
  if (isReplay(answer)) throw new EphemeraApiError(200, "idempotent_replay", "the request was made before", null);
  if (!isPending(answer)) return answer;
  options.onPending?.(answer.request);
  return waitAndCollect(client, answer.request.id, options);
}

/** Polls request `id` until it is approved, then collects its credential (see `requestAndWait`). */
export async function waitAndCollect(
  client: EphemeraClient,
  id: string,
  options: WaitOptions = {},
): Promise<RequestResult> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  for (;;) {
    if (options.signal?.aborted || Date.now() >= deadline) {
      await client.cancel(id).catch(() => undefined);
      const detail = `request ${id} was not approved in time; it was cancelled`;
      throw new EphemeraApiError(
        408,
        "approval_wait_timeout",
        detail,
        problem("approval_wait_timeout", 408, detail, id),
      );
    }
    let request: AccessRequest | null = null;
    try {
      request = (await client.getRequest(id)).request;
    } catch (error) {
      // A broker that is briefly away does not end the wait; anything else does.
      const transient =
        error instanceof EphemeraConnectionError || (error instanceof EphemeraApiError && error.status >= 500);
      if (!transient) throw error;
    }
    if (request?.state === "approved") {
      const collector = options.collectWith ? await options.collectWith() : client;
      return collector.collect(id);
    }
    if (request !== null && FINAL.has(request.state)) {
      const detail = `request ${id} ended ${request.state}${request.stateReason ? `: ${request.stateReason}` : ""}`;
      throw new EphemeraApiError(403, "approval_denied", detail, problem("approval_denied", 403, detail, id));
    }
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), options.signal);
  }
}

function problem(code: string, status: number, detail: string, requestId: string) {
  return { type: `urn:ephemera:problem:${code}`, title: code, status, detail, code, requestId };
}
