// What each connector's benchmark returns: broker-path latencies beside the raw statements measured in the same run.

export interface ConnectorBench {
  /** Connector type, as in the registry. */
  readonly connector: string;
  /** Milliseconds per `connector.issue` (account made and usable). */
  readonly issue: readonly number[];
  /** Milliseconds per `revoke` + `verifyRemoved` with the probe (sessions ended, account gone, login refused). */
  readonly removal: readonly number[];
  /** The raw statements an operator would type for the same account, timed on one admin connection. */
  readonly rawIssue: readonly number[];
  readonly rawIssueLabel: string;
  readonly rawRemoval: readonly number[];
  readonly rawRemovalLabel: string;
  /** Optional extra figures (pool hit issue, …) as name → samples. */
  readonly extra?: Readonly<Record<string, readonly number[]>>;
}
