// The identity registry: every identity the broker knows, kept in the store so status and sightings hold across restarts and replicas.
import { AUDIT_CODES, type AuditCode } from "../audit/index.js";
import type { Actor, Identity, IdentityRecord } from "../domain/index.js";
import { type ChangeSets, ConflictError, type IdentityStore, type Write } from "../storage/index.js";
import type { Clock, Logger } from "../support/index.js";
import { describeError } from "../support/index.js";

/** What defines an identity, as the config file or a trust rule states it. Status is the registry's, not the definition's. */
export type IdentityDefinition = Pick<Identity, "id" | "kind" | "owner" | "groups" | "attributes" | "admin">;

export interface RegistryOptions {
  /** A sighting of the same identity is written at most this often (ms); last-seen is a coarse fact. Default 60 s. */
  readonly sightingIntervalMs?: number;
}

const DEFINING_FIELDS = ["kind", "owner", "groups", "attributes", "admin"] as const;

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class IdentityRegistry {
  readonly #sightingIntervalMs: number;
  /** When each identity's sighting was last queued or written. */
  readonly #lastRecorded = new Map<string, number>();
  #pending = new Map<string, number>();
  #flushing: Promise<void> | null = null;
  /** The last sighting write started: each flush waits for the ones before it. */
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: IdentityStore & ChangeSets,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: RegistryOptions = {},
  ) {
    this.#sightingIntervalMs = options.sightingIntervalMs ?? 60_000;
  }

  /** The identity as registered now; undefined when the broker does not know it. */
  async get(id: string): Promise<IdentityRecord | undefined> {
    return (await this.store.getIdentity(id)) ?? undefined;
  }

  /**
   * Brings the registry in line with the configured identities: missing ones are registered, changed definitions are
   * updated, each with its audit event. Status is left alone: an identity offboarded through the API stays offboarded
   * even though the file still lists it.
   */
  async syncConfigured(definitions: Iterable<IdentityDefinition>): Promise<{ registered: number; updated: number }> {
    let registered = 0;
    let updated = 0;
    for (const definition of definitions) {
      const outcome = await this.#upsert(definition, "config", { type: "system", id: "config" }, true);
      if (outcome === "registered") registered++;
      else if (outcome === "updated") updated++;
    }
    return { registered, updated };
  }

  /**
   * Registers an identity first admitted by a trust rule (`source` names the rule). An identity already registered is
   * returned as it is: a rule does not rewrite an identity the config file or an earlier rule defined.
   */
  async register(definition: IdentityDefinition, source: string, actor: Actor): Promise<IdentityRecord> {
    await this.#upsert(definition, source, actor, false);
    const record = await this.store.getIdentity(definition.id);
    if (!record) throw new Error(`identity '${definition.id}' vanished right after it was registered`);
    return record;
  }

  /**
   * Registers a person a sign-in provider vouched for, or brings their groups in step with what the provider says now
   * (audited as `identity.updated`). An identity defined elsewhere (the config file, a trust rule) is returned as it
   * is: the provider does not rewrite what the operator wrote.
   */
  async syncPerson(definition: IdentityDefinition, source: string, actor: Actor): Promise<IdentityRecord> {
    const existing = await this.store.getIdentity(definition.id);
    if (existing && existing.source !== source) return existing;
    await this.#upsert(definition, source, actor, true);
    const record = await this.store.getIdentity(definition.id);
    if (!record) throw new Error(`identity '${definition.id}' vanished right after it was registered`);
    return record;
  }

  /** Notes that an identity authenticated now. Cheap: written in batches, at most once per interval per identity. */
  seen(id: string): void {
    const now = this.clock.now();
    const last = this.#lastRecorded.get(id);
    if (last !== undefined && now - last < this.#sightingIntervalMs) return;
    this.#lastRecorded.set(id, now);
    this.#pending.set(id, now);
    if (this.#flushing === null) {
      this.#flushing = Promise.resolve().then(() => this.flush());
    }
  }

  /**
   * Writes queued sightings; a failure is logged and dropped (a sighting is telemetry, never a reason to refuse).
   * Resolves only once every sighting queued before the call is written, including those an automatic flush took
   * and is still writing: a caller that flushes before reading (dormancy, shutdown) sees them.
   */
  async flush(): Promise<void> {
    const batch = [...this.#pending].map(([id, at]) => ({ id, at }));
    this.#pending = new Map();
    this.#flushing = null;
    const earlier = this.#writing;
    const write = (async () => {
      await earlier;
      try {
        if (batch.length > 0) await this.store.markIdentitiesSeen(batch);
      } catch (error) {
        for (const { id } of batch) this.#lastRecorded.delete(id);
        this.logger.warn({ err: describeError(error), count: batch.length }, "could not record identity sightings");
      }
    })();
    this.#writing = write;
    await write;
    if (this.#writing === write) this.#writing = Promise.resolve();
  }

  async #upsert(
    definition: IdentityDefinition,
    source: string,
    actor: Actor,
    updateDefinition: boolean,
  ): Promise<"registered" | "updated" | "unchanged"> {
    // Only the defining fields: a caller's object may carry more (a configured identity's status, its API keys).
    const wanted: IdentityDefinition = {
      id: definition.id,
      kind: definition.kind,
      owner: definition.owner,
      groups: [...definition.groups],
      attributes: sortedRecord(definition.attributes),
      admin: definition.admin,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.clock.now();
      const existing = await this.store.getIdentity(definition.id);
      try {
        if (!existing) {
          const identity: IdentityRecord = {
            ...wanted,
            status: "active",
            statusReason: null,
            source,
            firstSeenAt: null,
            lastSeenAt: null,
            createdAt: now,
            updatedAt: now,
            version: 1,
          };
          await this.#commit({ kind: "insertIdentity", identity }, "identity.registered", actor, identity.id, {
            source,
            kind: identity.kind,
            owner: identity.owner,
            groups: identity.groups,
            attributes: identity.attributes,
            admin: identity.admin,
          });
          return "registered";
        }
        if (!updateDefinition) return "unchanged";
        const changed = DEFINING_FIELDS.filter((field) => !sameValue(existing[field], wanted[field]));
        if (changed.length === 0 && existing.source === source) return "unchanged";
        const identity: IdentityRecord = {
          ...existing,
          ...wanted,
          source,
          updatedAt: now,
          version: existing.version + 1,
        };
        await this.#commit(
          { kind: "updateIdentity", identity, expectedVersion: existing.version },
          "identity.updated",
          actor,
          identity.id,
          {
            source,
            changed: Object.fromEntries(changed.map((f) => [f, { from: existing[f], to: wanted[f] }])),
          },
        );
        return "updated";
      } catch (error) {
        // Another replica or request registered or changed it first: read again and decide again.
        if (error instanceof ConflictError) continue;
        throw error;
      }
    }
    throw new ConflictError(`identity '${definition.id}' kept changing while it was being registered`);
  }

  async #commit(
    write: Write,
    code: AuditCode & ("identity.registered" | "identity.updated"),
    actor: Actor,
    identityId: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.store.apply({
      writes: [write],
      audit: [
        {
          time: this.clock.now(),
          code,
          severity: AUDIT_CODES[code].severity,
          outcome: "success",
          actor,
          requestId: null,
          grantId: null,
          identityId,
          data,
        },
      ],
    });
  }
}
