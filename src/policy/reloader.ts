// Keeps the Cedar policy set current: reloads on a file change in the folder and on SIGHUP. A reload applies whole or
// not at all: a set that fails to parse or validate is refused, the old one stays in force, and the failure is
// audited, logged and counted.
import { type FSWatcher, watch } from "node:fs";
import { type AuditCode, severityOf } from "../audit/index.js";
import type { AuditDraft } from "../domain/index.js";
import type { ChangeSets } from "../storage/index.js";
import type { Clock, Logger } from "../support/index.js";
import { describeError } from "../support/index.js";
import { CedarDecider } from "./cedar/cedar-decider.js";
import { loadPolicyFolder, PolicyLoadError } from "./cedar/policy-set.js";
import type { SwappableDecider } from "./decider.js";

export type ReloadOutcome =
  | { readonly outcome: "applied"; readonly version: string; readonly previous: string; readonly policies: number }
  | { readonly outcome: "unchanged"; readonly version: string }
  | { readonly outcome: "failed"; readonly kept: string; readonly problems: readonly string[] };

export interface ReloaderOptions {
  readonly dir: string;
  readonly decider: SwappableDecider;
  readonly store: ChangeSets;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts reloads by outcome (metrics). */
  readonly observe?: (outcome: ReloadOutcome["outcome"]) => void;
  /** Runs after a new set is in force: re-checking active grants against it. */
  readonly onApplied?: (version: string) => Promise<void>;
}

/** Debounce for file events: editors write a file in several steps, and a folder copy touches many files. */
const SETTLE_MS = 250;

export class PolicyReloader {
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<ReloadOutcome> | null = null;
  #again = false;
  readonly #onSighup = () => {
    void this.reload("sighup");
  };

  constructor(private readonly options: ReloaderOptions) {}

  /** Watches the folder (when `watchFiles`) and listens for SIGHUP. */
  start(watchFiles: boolean): void {
    process.on("SIGHUP", this.#onSighup);
    if (!watchFiles) return;
    try {
      this.#watcher = watch(this.options.dir, () => this.#schedule());
      this.#watcher.on("error", (error) => {
        this.options.logger.warn({ err: describeError(error) }, "policy folder watch failed; SIGHUP still reloads");
      });
    } catch (error) {
      this.options.logger.warn({ err: describeError(error) }, "cannot watch the policy folder; SIGHUP still reloads");
    }
  }

  async stop(): Promise<void> {
    process.off("SIGHUP", this.#onSighup);
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => undefined);
  }

  /** Loads the folder now; one reload at a time (a request during one runs once it ends). */
  async reload(trigger: string): Promise<ReloadOutcome> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = this.#reload(trigger);
    this.#running = run;
    try {
      return await run;
    } finally {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        void this.reload(trigger);
      }
    }
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.reload("file change");
    }, SETTLE_MS);
    this.#timer.unref();
  }

  async #reload(trigger: string): Promise<ReloadOutcome> {
    const { decider, store, clock, logger } = this.options;
    const previous = decider.version;
    let result: ReloadOutcome;
    let next: CedarDecider | null = null;
    try {
      const set = loadPolicyFolder(this.options.dir);
      if (set.version === previous) {
        result = { outcome: "unchanged", version: previous };
      } else {
        next = new CedarDecider(set);
        result = { outcome: "applied", version: set.version, previous, policies: set.policies.length };
      }
    } catch (error) {
      const problems = error instanceof PolicyLoadError ? error.problems : [describeError(error)];
      result = { outcome: "failed", kept: previous, problems };
    }
    this.options.observe?.(result.outcome);
    if (result.outcome === "unchanged") return result;
    const code: AuditCode = result.outcome === "applied" ? "policy.reloaded" : "policy.reload_failed";
    const event: AuditDraft = {
      time: clock.now(),
      code,
      severity: severityOf(code),
      outcome: result.outcome === "applied" ? "success" : "failure",
      actor: { type: "system", id: "policy-reloader" },
      requestId: null,
      grantId: null,
      identityId: null,
      data: { ...result, trigger, dir: this.options.dir },
    };
    try {
      // The audit record comes first: a set whose adoption cannot be recorded is not adopted.
      await store.apply({ writes: [], audit: [event] });
    } catch (error) {
      logger.error(
        { err: describeError(error) },
        "policy reload could not be audited; the previous policies stay in force",
      );
      return { outcome: "failed", kept: previous, problems: ["the audit log could not be written"] };
    }
    if (result.outcome === "failed") {
      logger.error(
        { problems: result.problems, kept: previous, trigger },
        "policy reload refused; the previous policies stay in force",
      );
      return result;
    }
    if (next) decider.swap(next);
    logger.info({ version: result.version, previous, policies: result.policies, trigger }, "policies reloaded");
    await this.options
      .onApplied?.(result.version)
      .catch((error: unknown) =>
        logger.error({ err: describeError(error) }, "re-checking active grants after a policy change failed"),
      );
    return result;
  }
}
