// What both dialects share in committing a batch of change sets: the queued job, chaining its audit events after the
// head, and settling every caller once the transaction is over.

import type { AuditEvent } from "../../domain/index.js";
import { type ChainHead, chainDraft } from "../../domain/index.js";
import { newId } from "../../support/index.js";
import { type ChangeSet, StoreUnavailableError } from "../store.js";

/** A queued unit of work and how to settle its caller's promise. */
export interface Pending<In, Out> {
  readonly input: In;
  readonly resolve: (value: Out) => void;
  readonly reject: (reason: unknown) => void;
}

/** `commits` counts transactions, so `changeSets / commits` is how well group commit batches. */
export interface BatchStats {
  commits: number;
  changeSets: number;
  failedChangeSets: number;
  largestBatch: number;
}

export type Job = Pending<ChangeSet, readonly AuditEvent[]>;
/** What became of one change set of a batch: its chained events, or its own error. */
export type BatchOutcome = { job: Job; events: readonly AuditEvent[] } | { job: Job; error: unknown };

/** The change set's audit events chained after `head`, and the head after them. */
export function chainChangeSet(changes: ChangeSet, head: ChainHead): { events: AuditEvent[]; head: ChainHead } {
  const events: AuditEvent[] = [];
  let last = head;
  for (const draft of changes.audit) {
    const event = chainDraft(draft, last, newId("evt"));
    events.push(event);
    last = { seq: event.seq, hash: event.hash };
  }
  return { events, head: last };
}

/** Every caller of a batch that did not commit hears that the store is unavailable: nothing of it was written. */
export function failBatch(batch: readonly Job[], cause: unknown): void {
  const failure = new StoreUnavailableError("the store could not commit: nothing in the batch was written", { cause });
  for (const job of batch) job.reject(failure);
}

/** After COMMIT: each caller hears its own outcome, and the counters move. */
export function settleBatch(outcomes: readonly BatchOutcome[], size: number, stats: BatchStats): void {
  stats.commits += 1;
  stats.largestBatch = Math.max(stats.largestBatch, size);
  for (const outcome of outcomes) {
    if ("events" in outcome) {
      stats.changeSets += 1;
      outcome.job.resolve(outcome.events);
    } else {
      stats.failedChangeSets += 1;
      outcome.job.reject(outcome.error);
    }
  }
}
