// Public surface of `ephemera agent`: configuration, the agent itself and its parts for embedding and tests.

export type { AgentOptions, RunningAgent, SignalSource } from "./agent.js";
export { startAgent } from "./agent.js";
export type { AuthSource, TokenPurpose } from "./auth.js";
export { AuthUnavailableError, createAuthSource } from "./auth.js";
export type { AgentConfig, AuthConfig, CredentialConfig, SinkConfig } from "./config.js";
export { AgentConfigError, agentSchemaProblems, buildAgentConfig, loadAgentConfigFile } from "./config.js";
export type { Ended, KeeperStatus } from "./keeper.js";
export type { SinkFormat } from "./sink/index.js";
export { checkTemplate, removeSink, renderSink, SINK_FORMATS, writeSinkAtomically } from "./sink/index.js";
