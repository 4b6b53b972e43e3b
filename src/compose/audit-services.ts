// The audit's keys (the HMAC for sensitive values, the checkpoint signing key) and its two periodic jobs: signed
// checkpoints and the SIEM stream.

import type { CheckpointKey } from "../audit/index.js";
import { AuditHmac, AuditStream, Checkpointer, loadCheckpointKey, loadHmacKey } from "../audit/index.js";
import { type StartContext, turnTaker } from "./start-context.js";

export interface AuditKeys {
  readonly hmac: AuditHmac;
  /** Null when checkpoints are turned off. */
  readonly checkpointKey: CheckpointKey | null;
}

/** The HMAC key (configured, or made and sealed on first start) and the checkpoint key, whose public half is logged. */
export async function loadAuditKeys(ctx: StartContext): Promise<AuditKeys> {
  const { config, store, sealer, clock, logger } = ctx;
  const hmac = new AuditHmac(
    config.audit.hmacKey !== null
      ? Buffer.from(config.audit.hmacKey, "utf8")
      : await loadHmacKey(store, sealer, clock.now()),
  );
  const checkpointKey = config.audit.checkpoints ? await loadCheckpointKey(store, sealer, clock.now()) : null;
  if (checkpointKey) {
    logger.info({ keyId: checkpointKey.keyId, publicKey: checkpointKey.publicJwk }, "audit checkpoint key (pin it)");
  }
  return { hmac, checkpointKey };
}

export interface AuditJobs {
  /** Null when checkpoints are turned off. */
  readonly checkpointer: Checkpointer | null;
  /** Null when no stream is configured. */
  readonly stream: AuditStream | null;
}

/** The checkpointer and the SIEM stream as configured; neither runs until started. */
export function buildAuditJobs(ctx: StartContext, checkpointKey: CheckpointKey | null, version: string): AuditJobs {
  const { config, store, clock, logger } = ctx;
  const checkpointConfig = config.audit.checkpoints;
  const checkpointer =
    checkpointConfig && checkpointKey
      ? new Checkpointer({
          store,
          clock,
          logger,
          key: checkpointKey,
          every: checkpointConfig.every,
          intervalMs: checkpointConfig.intervalMs,
          sinkDir: checkpointConfig.sinkDir,
          webhook: checkpointConfig.webhook,
          ...turnTaker(ctx),
        })
      : null;
  const stream = config.audit.stream
    ? new AuditStream({ store, clock, logger, ...config.audit.stream, version, ...turnTaker(ctx) })
    : null;
  return { checkpointer, stream };
}
