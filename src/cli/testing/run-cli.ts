// Test helper: runs the CLI in-process with captured stdout/stderr, a given environment and a fake signal source.
import { EventEmitter } from "node:events";
import type { Env } from "../context.js";
import { runCli } from "../index.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function run(args: readonly string[], env: Env = {}, signals = new EventEmitter()): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["node", "ephemera", ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
    signals,
  });
  return { code, stdout, stderr };
}
