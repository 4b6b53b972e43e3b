// The admin secret a connector logs in to its target with, and its crash-safe rotation: the new secret is sealed in the
// store before the target changes, checked after, and only then made current, so a crash at any step leaves one that works.
import { randomUUID } from "node:crypto";
import type { AuditCode } from "../../audit/index.js";
import { systemEvent } from "../../audit/index.js";
import { ConflictError, type Leases, type StatePort, StateRepository } from "../../storage/index.js";
import type { Clock, Sealer } from "../../support/index.js";
import { Secret, sameSecret } from "../../support/index.js";
import { newPassword } from "./accounts.js";

const NAMESPACE = "admin-secret";
/** Longer than any rotation takes (a few logins and one password change, each bounded by the connector's timeouts). */
const ROTATION_LEASE_MS = 120_000;

interface StoredAdminSecret {
  /** Sealed secret the broker logs in with. */
  readonly current: string;
  /** Sealed secret of a rotation that started and has not been confirmed. */
  readonly pending: string | null;
  readonly rotatedAt: number | null;
}

/** The target-specific steps of a rotation. */
export interface RotationSteps {
  /** True when the target accepts `secret` as the admin secret now. */
  works(secret: string): Promise<boolean>;
  /** Makes `next` valid downstream (set or add the password), logged in with `current`. */
  apply(next: string, current: string): Promise<void>;
  /** Makes `old` invalid where the target keeps several secrets at once (Redis ACL); omit when `apply` replaced it. */
  retire?(old: string, next: string): Promise<void>;
}

export interface AdminSecretOptions {
  readonly targetId: string;
  /** The row itself and the rotation lease: all the connector touches in the store. */
  readonly store: StatePort & Leases;
  readonly sealer: Sealer;
  readonly clock: Clock;
  /** The secret from the configuration, used until the broker first rotates it. */
  readonly configured: string;
}

/** The admin secret of a configured target: the broker's store, sealer and clock, and the secret from its settings. */
export function adminSecretFor(
  targetId: string,
  ctx: Pick<AdminSecretOptions, "store" | "sealer" | "clock">,
  configured: string,
): AdminSecret {
  return new AdminSecret({ targetId, store: ctx.store, sealer: ctx.sealer, clock: ctx.clock, configured });
}

export class AdminSecret {
  readonly #o: AdminSecretOptions;
  readonly #rows: StateRepository<StoredAdminSecret>;
  constructor(options: AdminSecretOptions) {
    this.#o = options;
    this.#rows = new StateRepository(options.store, NAMESPACE);
  }

  get #context(): string {
    return `${NAMESPACE}:${this.#o.targetId}`;
  }

  async #read(): Promise<StoredAdminSecret | null> {
    return (await this.#rows.get(this.#o.targetId))?.value ?? null;
  }

  /** Holder id of this process for the rotation lease. */
  readonly #holder = randomUUID();

  #open(sealed: string): string {
    return this.#o.sealer.open(sealed, this.#context);
  }

  /**
   * Replaces the stored row only while it is still `expected` (null: still absent). Replicas share the row: a write
   * based on a row another replica has changed since fails with ConflictError instead of undoing that change.
   */
  async #write(
    expected: StoredAdminSecret | null,
    value: StoredAdminSecret,
    code: AuditCode,
    data: Record<string, unknown>,
  ): Promise<void> {
    const audit = systemEvent(code, this.#o.clock.now(), "rotation", { target: this.#o.targetId, ...data });
    await this.#o.store.apply({ writes: [this.#rows.replace(this.#o.targetId, value, expected)], audit: [audit] });
  }

  /** The secret to log in with now: the last one the broker rotated to, else the configured one. */
  async current(): Promise<Secret<string>> {
    const stored = await this.#read();
    return new Secret(stored ? this.#open(stored.current) : this.#o.configured);
  }

  /** When the last rotation finished, or null when the configured secret is still in use. */
  async rotatedAt(): Promise<number | null> {
    return (await this.#read())?.rotatedAt ?? null;
  }

  /**
   * Finishes or abandons a rotation a crash interrupted: the pending secret becomes current when the target takes it,
   * else the current one stays. Fails only when the target takes neither, which needs an operator. When another
   * replica changes the row meanwhile (it finished the rotation itself), the row is read again.
   */
  async settle(steps: RotationSteps): Promise<Secret<string>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#settleOnce(steps);
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= 5) throw error;
      }
    }
  }

  async #settleOnce(steps: RotationSteps): Promise<Secret<string>> {
    const stored = await this.#read();
    if (!stored?.pending) return this.current();
    const current = this.#open(stored.current);
    const pending = this.#open(stored.pending);
    if (await steps.works(pending)) {
      if (steps.retire) await steps.retire(current, pending);
      const now = this.#o.clock.now();
      await this.#write(
        stored,
        { current: stored.pending, pending: null, rotatedAt: now },
        "target.admin_rotation_recovered",
        { outcome: "the interrupted rotation's new secret works and is now current" },
      );
      return new Secret(pending);
    }
    if (await steps.works(current)) {
      await this.#write(stored, { ...stored, pending: null }, "target.admin_rotation_recovered", {
        outcome: "the interrupted rotation never reached the target; the old secret stays current",
      });
      return new Secret(current);
    }
    // Another replica may have finished its rotation between our read and our tries: read again before giving up.
    const again = await this.#read();
    if (JSON.stringify(again) !== JSON.stringify(stored)) throw new ConflictError("admin secret changed meanwhile");
    throw new Error(
      `targets.${this.#o.targetId}: the target accepts neither the current nor the pending admin secret; an operator must reset it`,
    );
  }

  /**
   * Creates a new secret, makes the target take it, proves it works, retires the old one, then records it as current.
   * One replica at a time: the others are refused while a rotation of this target holds the store lease.
   */
  async rotate(steps: RotationSteps): Promise<{ rotatedAt: number }> {
    const lease = `${NAMESPACE}:${this.#o.targetId}`;
    const held = await this.#o.store.acquireLease({
      name: lease,
      holder: this.#holder,
      now: this.#o.clock.now(),
      ttlMs: ROTATION_LEASE_MS,
    });
    if (!held) {
      throw new Error(`targets.${this.#o.targetId}: another broker replica is rotating this admin secret now`);
    }
    try {
      return await this.#rotate(steps);
    } finally {
      await this.#o.store.releaseLease(lease, this.#holder).catch(() => undefined);
    }
  }

  async #rotate(steps: RotationSteps): Promise<{ rotatedAt: number }> {
    const current = (await this.settle(steps)).reveal();
    if (!(await steps.works(current))) {
      throw new Error(`targets.${this.#o.targetId}: the current admin secret does not work, so it cannot be rotated`);
    }
    const next = newPassword().reveal();
    const sealedCurrent = this.#o.sealer.seal(current, this.#context);
    const sealedNext = this.#o.sealer.seal(next, this.#context);
    const previous = await this.#read();
    const started: StoredAdminSecret = {
      current: sealedCurrent,
      pending: sealedNext,
      rotatedAt: previous?.rotatedAt ?? null,
    };
    // Durable before the target changes: a crash from here on is settled by trying both.
    await this.#write(previous, started, "target.admin_rotation_started", {});
    await steps.apply(next, current);
    if (!(await steps.works(next))) {
      throw new Error(
        `targets.${this.#o.targetId}: the target did not accept the new admin secret; the old one is kept`,
      );
    }
    if (steps.retire) await steps.retire(current, next);
    const rotatedAt = this.#o.clock.now();
    const done: StoredAdminSecret = { current: sealedNext, pending: null, rotatedAt };
    try {
      await this.#write(started, done, "target.admin_rotated", {
        retired: steps.retire ? "old secret removed from the target" : "old secret replaced by the new one",
      });
    } catch (error) {
      // Another replica settled our rotation first (the new secret works, so it made it current): that is the outcome.
      if (!(error instanceof ConflictError)) throw error;
      const now = await this.current();
      if (!sameSecret(now.reveal(), next)) throw error;
    }
    return { rotatedAt };
  }
}
