// Public surface of `ephemera mcp`: MCP tools through which AI agents get task-scoped access, built on the client only.
export type {
  BrokerAuth,
  DpopKeySettings,
  EntitlementSettings,
  McpConfig,
  McpConfigInput,
  SinkSpec,
} from "./config.js";
export { checkListen, DEFAULTS as MCP_DEFAULTS, loadMcpConfig, McpConfigError } from "./config.js";
export type { RunningMcp, ServeOptions } from "./serve.js";
export { serveHttp, serveStdio } from "./serve.js";
export type { CloseReport, Log } from "./session.js";
