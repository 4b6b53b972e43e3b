// A connector over an in-memory "target", with switches to make each step fail: for lifecycle tests of the failure paths.
import type {
  AccountInfo,
  Connector,
  IssueRequest,
  IssueResponse,
  RenewResponse,
  RevokeRequest,
  RevokeResponse,
  UsageSighting,
  VerifyRequest,
  VerifyResponse,
} from "../../connectors/connector.js";
import type { Grant } from "../../domain/types.js";
import type { Store } from "../../storage/store.js";
import type { Clock } from "../../support/clock.js";
import { Secret } from "../../support/secret.js";

export class FakeConnector implements Connector {
  readonly type = "fake";
  /** Set to imitate a connector whose credential exists only inside the broker until handed out. */
  issuesInProcess = false;
  /** Handles that exist downstream, with the password issued for each. */
  readonly accounts = new Map<string, string>();
  /** The grant state the store held when each issue call began: proves the row is committed first. */
  readonly stateAtIssue: (string | null)[] = [];
  failIssue = false;
  /** How many revoke calls still fail. */
  failRevokes = 0;
  /** Revoke reports success but leaves the account behind, so verification must catch it. */
  revokeLeavesAccount = false;
  /** Issue calls never return: a broker that dies mid-issue. `issueBegun()` tells a test when one has started. */
  hangIssue = false;
  /** Renewal hands out a fresh credential, as a token connector does. */
  renewCredential = false;
  revokeCalls = 0;
  /** The probe secret each verifyRemoved call was given (null when none): proves the broker kept and returned it. */
  readonly probesSeen: (string | null)[] = [];
  /** Tests waiting for the next issue call to begin. */
  readonly #issueWaiters: (() => void)[] = [];

  constructor(
    readonly targetId: string,
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  validateEntitlement(): void {}

  /** Resolves when the next issue call begins, by which time its grant row is committed: no need to sleep for it. */
  issueBegun(): Promise<void> {
    return new Promise((resolve) => this.#issueWaiters.push(resolve));
  }

  prepare(request: { grantId: string }) {
    return { handle: `fake_${request.grantId.slice(4, 16)}`, handleData: { marker: "ephemera" } };
  }

  async issue(request: IssueRequest): Promise<IssueResponse> {
    this.stateAtIssue.push((await this.store.getGrant(request.grant.id))?.state ?? null);
    for (const resolve of this.#issueWaiters.splice(0)) resolve();
    if (this.hangIssue) await new Promise(() => {});
    // The account may be half-made before the failure: removal must clean it up.
    this.accounts.set(request.grant.handle, "pw-not-a-real-secret");
    if (this.failIssue) throw new Error("target refused the create call");
    return {
      credential: {
        fields: new Secret({ username: request.grant.handle, password: "pw-not-a-real-secret" }),
        env: new Secret({ FAKE_USER: request.grant.handle }),
      },
      handleData: { issuedAt: this.clock.now() },
      probe: new Secret("pw-not-a-real-secret"),
    };
  }

  async renew(): Promise<RenewResponse> {
    if (!this.renewCredential) return { credential: null, handleData: {} };
    return {
      credential: { fields: new Secret({ password: "renewed-not-a-real-secret" }), env: new Secret({}) },
      handleData: {},
    };
  }

  /** Handles with an open "session": observeUsage reports them, revoke ends them. */
  readonly sessions = new Set<string>();

  async revoke(request: RevokeRequest): Promise<RevokeResponse> {
    this.revokeCalls++;
    if (this.failRevokes > 0) {
      this.failRevokes--;
      throw new Error("connection refused");
    }
    const handle = request.grant.handle;
    const existed = this.accounts.has(handle);
    const session = this.sessions.delete(handle);
    if (!this.revokeLeavesAccount) this.accounts.delete(handle);
    return {
      removed: existed && !this.revokeLeavesAccount ? [`account ${handle}`] : [],
      sessionsEnded: { count: session ? 1 : 0, ids: session ? [`session ${handle}`] : [] },
    };
  }

  async observeUsage(grants: readonly Grant[]): Promise<readonly UsageSighting[]> {
    const at = this.clock.now();
    return grants.filter((g) => this.sessions.has(g.handle)).map((g) => ({ grantId: g.id, at }));
  }

  async verifyRemoved(request: VerifyRequest): Promise<VerifyResponse> {
    const probe = request.probe?.reveal() ?? null;
    this.probesSeen.push(probe);
    const present = this.accounts.has(request.grant.handle);
    const loginWorks = probe !== null && this.accounts.get(request.grant.handle) === probe;
    return {
      removed: !present && !loginWorks,
      evidence: {
        checkedAt: this.clock.now(),
        checks: [
          { check: "fake.account_absent", passed: !present, observed: present ? "account present" : "no account" },
          {
            check: "login.refused",
            passed: !loginWorks,
            observed: probe === null ? "no probe secret" : loginWorks ? "login accepted" : "login refused",
          },
        ],
      },
    };
  }

  async listAccounts(): Promise<readonly AccountInfo[]> {
    return [...this.accounts.keys()].map((handle) => ({
      handle,
      managed: handle.startsWith("fake_"),
      expiresAt: null,
      privileges: handle.startsWith("fake_") ? [] : ["superuser"],
      admin: !handle.startsWith("fake_"),
    }));
  }

  async removeAccount(handle: string): Promise<boolean> {
    return this.accounts.delete(handle);
  }

  /** How many times the broker asked for an admin-secret rotation. */
  rotations = 0;

  async rotateAdminSecret() {
    this.rotations++;
    return { rotated: false, detail: "the fake target has no admin secret" };
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
