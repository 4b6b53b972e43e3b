// Public surface of the sink: render a credential as dotenv, JSON or a Mustache template, and write it atomically.
//
// Stable API (used by `ephemera agent` and `ephemera mcp`):
//   renderSink(format, credential, template?) → string      format: "env" | "json" | "template"
//   writeSinkAtomically(path, content, { mode?, uid?, gid? }) → Promise<void>   temp + fsync + rename + dir fsync
//   removeSink(path), checkTemplate(template), quoteEnvValue(value), SinkError (messages never hold a value)
export type { SinkCredential, SinkFormat } from "./render.js";
export { checkTemplate, quoteEnvValue, renderSink, SINK_FORMATS, SinkError } from "./render.js";
export type { SinkWriteOptions } from "./write.js";
export { removeSink, writeSinkAtomically } from "./write.js";
