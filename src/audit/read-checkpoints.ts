// Reads a checkpoint directory (the file sink) for the offline verifier: every `*.json` file, parsed strictly.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCheckpoint } from "./checkpoint.js";
import type { NamedCheckpoint } from "./verify-checkpoints.js";

/** Throws naming the file that is not a checkpoint: an unreadable file is itself a finding. */
export function readCheckpointDir(dir: string): NamedCheckpoint[] {
  const names = readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .sort();
  return names.map((name) => {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(join(dir, name), "utf8"));
    } catch {
      throw new Error(`${name}: not valid JSON`);
    }
    return { name, checkpoint: parseCheckpoint(value, name) };
  });
}
