// `ephemera audit verify --checkpoints DIR --store …`: verifies the audit log offline, against signed checkpoints.
//
// The one command that reads the store directly rather than through the HTTP API: an auditor verifies a copy of the
// database (or a live one) without a broker, and without trusting one — a broker on a tampered store would answer for
// the tampered store. It only reads: the audit events and, when no key is pinned, the checkpoint public key.
import { existsSync, readFileSync } from "node:fs";
import type { CheckpointPublicJwk } from "../../audit/index.js";
import type { AuditEvent } from "../../domain/index.js";
import type { Store } from "../../storage/index.js";
import type { Cli } from "../context.js";
import { EXIT, UsageError } from "../exit-codes.js";

export interface OfflineVerifyOptions {
  readonly checkpoints: string;
  readonly store?: string;
  readonly schema?: string;
  readonly key?: string;
  /** Read the key from the store being verified: an explicit choice, since a store replaced whole passes then. */
  readonly unpinned?: boolean;
  readonly json?: boolean;
}

async function openStore(where: string, schema: string | undefined): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(where)) {
    const { openPostgresStore } = await import("../../storage/postgres/index.js");
    return openPostgresStore({ url: where, schema: schema ?? "public", poolSize: 2 });
  }
  // An existing file only: opening a missing path would create an empty database and report an empty log.
  if (!existsSync(where)) throw new UsageError(`--store: no SQLite database at ${where}`);
  const { openSqliteStore } = await import("../../storage/sqlite/index.js");
  return openSqliteStore(where);
}

async function* allEvents(store: Store): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const page = await store.listAudit(after, 1000);
    if (page.length === 0) return;
    yield* page;
    after = page[page.length - 1]!.seq;
  }
}

export async function verifyOffline(cli: Cli, options: OfflineVerifyOptions): Promise<void> {
  if (!options.store) throw new UsageError("--checkpoints needs --store <sqlite-file|postgres-url>");
  if (!existsSync(options.checkpoints)) throw new UsageError(`--checkpoints: no directory ${options.checkpoints}`);
  const [{ parsePublicKey }, { readCheckpointDir }, { verifyAgainstCheckpoints }, { storedCheckpointKeyX }] =
    await Promise.all([
      import("../../audit/checkpoint.js"),
      import("../../audit/read-checkpoints.js"),
      import("../../audit/verify-checkpoints.js"),
      import("../../audit/audit-keys.js"),
    ]);
  let key: CheckpointPublicJwk | null = null;
  if (options.key !== undefined) {
    const text = existsSync(options.key) ? readFileSync(options.key, "utf8") : options.key;
    try {
      key = parsePublicKey(text);
    } catch (error) {
      throw new UsageError(`--key: ${(error as Error).message}`);
    }
  }
  let checkpoints: ReturnType<typeof readCheckpointDir>;
  try {
    checkpoints = readCheckpointDir(options.checkpoints);
  } catch (error) {
    cli.exitCode = EXIT.auditBroken;
    cli.print(`BROKEN: checkpoint ${(error as Error).message}`);
    return;
  }
  const store = await openStore(options.store, options.schema);
  try {
    if (key === null) {
      if (!options.unpinned) {
        throw new UsageError(
          "--key: pass the checkpoint key auditors pinned (GET /v1/audit/checkpoints/key, `ephemera audit key`); " +
            "--unpinned reads it from the store being verified, which a store replaced whole would pass",
        );
      }
      const stored = await storedCheckpointKeyX(store);
      if (stored === null) {
        throw new UsageError("--key: no key pinned and none in the store; pass the key auditors pinned");
      }
      key = parsePublicKey(stored);
      cli.warn(
        "warning: no --key pinned: the key was read from the store itself, so a store replaced whole with its own " +
          "key would not be detected. Pin the key (GET /v1/audit/checkpoints/key) and pass it with --key.",
      );
    }
    const result = await verifyAgainstCheckpoints(allEvents(store), checkpoints, key);
    cli.exitCode = result.ok ? EXIT.ok : EXIT.auditBroken;
    const keyPinned = options.key !== undefined;
    if (options.json) {
      cli.json({ ...result, keyPinned });
      return;
    }
    if (result.ok) {
      const after = result.headSeq - result.coveredSeq;
      cli.print(
        `OK: audit chain intact (${result.count} events, head ${result.headSeq}); ${result.checkpoints} signed ` +
          `checkpoints verified up to seq ${result.coveredSeq}` +
          (after > 0 ? `; ${after} newer events are not covered by a checkpoint yet` : "") +
          (keyPinned ? "" : " (key NOT pinned: read from the store itself)"),
      );
      return;
    }
    cli.print(
      `BROKEN at event ${result.firstBadSeq}: ${result.problem}: ${result.detail} (${result.count} events before it verified)`,
    );
  } finally {
    await store.close();
  }
}
