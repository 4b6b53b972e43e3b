// Where an entitlement's credential goes and how it gets there: the sink files `ephemera agent` writes (dotenv, JSON or
// a Mustache template; temp file, 0600, fsync, rename), in folders made private on first use.
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { removeSink, renderSink, writeSinkAtomically } from "../agent/index.js";
import type { Grant, WireCredential } from "../client/index.js";
import type { McpConfig, SinkSpec } from "./config.js";
import type { Delivered } from "./present.js";

const EXTENSION = { env: "env", json: "json", template: "txt" } as const;

export class SinkWriter {
  readonly #config: McpConfig;
  /** Sink folders made (or found) already: one fewer file-system round trip per credential. */
  readonly #folders = new Set<string>();

  constructor(config: McpConfig) {
    this.#config = config;
  }

  /** The entitlement's configured sink, or `<sinks.dir>/<target>/<name>.<format>`. */
  sinkOf(entitlement: string): SinkSpec {
    const configured = this.#config.entitlements[entitlement]?.sink;
    if (configured) return configured;
    const format = this.#config.sinks.format;
    const slash = entitlement.indexOf("/");
    const parts = slash < 0 ? [entitlement] : [entitlement.slice(0, slash), entitlement.slice(slash + 1)];
    const names = parts.map(pathSegment);
    const file = `${names.pop() ?? ""}.${EXTENSION[format]}`;
    return { path: join(this.#config.sinks.dir, ...names, file), format };
  }

  async write(sink: SinkSpec, grant: Grant, credential: WireCredential): Promise<Delivered> {
    const content = renderSink(
      sink.format,
      { grantId: grant.id, expiresAt: grant.expiresAt ?? "", fields: credential.fields, env: credential.env },
      sink.template,
    );
    const folder = dirname(sink.path);
    if (!this.#folders.has(folder)) {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      this.#folders.add(folder);
    }
    await writeSinkAtomically(sink.path, content);
    return { sink, variables: Object.keys(credential.env), fields: credential.fields };
  }

  /** Deletes a sink once its grant has ended; a file already gone is fine. */
  remove(sink: SinkSpec): Promise<void> {
    return removeSink(sink.path);
  }
}

/**
 * One path segment from a target or entitlement name, one-to-one: every byte outside [A-Za-z0-9_.-] (`/` and `%`
 * among them) and a leading `.` are percent-encoded, so two names never share a file and none leaves the folder.
 */
function pathSegment(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const char = String.fromCharCode(byte);
    const plain = /[A-Za-z0-9_.-]/.test(char) && !(out === "" && char === ".");
    out += plain ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out === "" ? "%" : out;
}
