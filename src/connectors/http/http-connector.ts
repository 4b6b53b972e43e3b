// The `http` connector: temporary role elevation of an account the caller already has in a SaaS (a ticketing tool…),
// through the add, remove and check calls its configuration describes. Removal is reference-counted over live grants.
import type { Grant } from "../../domain/index.js";
import { describeError, Secret } from "../../support/index.js";
import type { Connector, IssuedCredential } from "../connector.js";
import type { ConnectorContext, TargetSpec } from "../context.js";
import { check, evidenceOf } from "../support/evidence.js";
import { type Answer, accountsOf, readCheckAnswer } from "./answers.js";
import { HttpClient } from "./http-client.js";
import { KeyedMutex } from "./keyed-mutex.js";
import {
  type CallSpec,
  parseEntitlementSettings,
  parseTargetSettings,
  ROLE_PATTERN,
  SUBJECT_PATTERN,
  subjectOf,
} from "./settings.js";
import { PathTemplate, type TemplateValues } from "./template.js";

/** One elevation: an account in the target and a role it is given. The grant's handle is `<subject>:<role>`. */
interface Membership {
  readonly subject: string;
  readonly role: string;
  readonly handle: string;
}

const LIVE_STATES = ["issuing", "active"] as const;
const GRANT_PAGE = 500;
const NO_VALUES: TemplateValues = { subject: "", role: "", grant: "" };

function membership(subject: string, role: string): Membership {
  return { subject, role, handle: `${subject}:${role}` };
}

/** The membership a handle names; subjects hold no `:`, so the first one splits it. */
export function parseHandle(handle: string): Membership | null {
  const at = handle.indexOf(":");
  if (at < 0) return null;
  const subject = handle.slice(0, at);
  const role = handle.slice(at + 1);
  return SUBJECT_PATTERN.test(subject) && ROLE_PATTERN.test(role) ? membership(subject, role) : null;
}

function credentialOf(m: Membership, expiresAt: number): IssuedCredential {
  const until = new Date(expiresAt).toISOString();
  // Nothing secret: the caller keeps using their own login; this says what they were given and until when.
  return {
    fields: new Secret({ subject: m.subject, role: m.role, expiresAt: until }),
    env: new Secret({ EPHEMERA_HTTP_SUBJECT: m.subject, EPHEMERA_HTTP_ROLE: m.role, EPHEMERA_HTTP_EXPIRES_AT: until }),
  };
}

function statuses(set: ReadonlySet<number>): string {
  return [...set].join(", ");
}

export function createHttpConnector(target: TargetSpec, ctx: ConnectorContext): Connector {
  const settings = parseTargetSettings(target.id, target.settings);
  const where = `targets.${target.id}`;
  const basePath = settings.baseUrl.pathname.replace(/\/+$/, "");
  // Sockets open on the first call, not here.
  const client = new HttpClient(settings.baseUrl, settings.headers, settings.timeoutMs);
  const locks = new KeyedMutex();
  /** Roles some entitlement of this target hands out: memberships of them are the broker's to reconcile. */
  const elevationRoles = new Set<string>();
  let warnedUnlisted = false;

  function membershipOf(grant: Grant): Membership {
    const m = parseHandle(grant.handle);
    if (!m) throw new Error(`${where}: grant ${grant.id} has a handle that is not <subject>:<role>`);
    return m;
  }

  function valuesOf(m: Membership, grantId: string): TemplateValues {
    return { subject: m.subject, role: m.role, grant: grantId };
  }

  async function call(spec: CallSpec, values: TemplateValues): Promise<Answer> {
    const path = spec.path.render(values);
    const shown = `${spec.method} ${basePath}${PathTemplate.withoutQuery(path)}`;
    const started = performance.now();
    let answer: { status: number; body: Buffer };
    try {
      answer = await client.send(spec.method, path, spec.body?.render(values));
    } catch (error) {
      const reason = error instanceof Error ? error.message : "unknown error";
      throw new Error(`${where}: ${spec.name} call ${shown} got no answer: ${reason}`);
    }
    const ms = Math.round(performance.now() - started);
    ctx.logger.debug({ target: target.id, call: spec.name, request: shown, status: answer.status, ms }, "http call");
    return { ...answer, shown };
  }

  async function expectOk(spec: CallSpec, values: TemplateValues, alsoOk: readonly number[] = []): Promise<number> {
    const { status, shown } = await call(spec, values);
    if (!spec.ok.has(status) && !alsoOk.includes(status)) {
      // The answer's body is never quoted: an API may echo the request, Authorization header included.
      throw new Error(`${where}: ${spec.name} call ${shown} answered HTTP ${status} (expected ${statuses(spec.ok)})`);
    }
    return status;
  }

  /** Whether the target says the subject holds the role now. Throws when the answer says neither. */
  async function readCheck(m: Membership, grantId: string): Promise<{ held: boolean; observed: string }> {
    const values = valuesOf(m, grantId);
    return readCheckAnswer(settings.check, await call(settings.check, values), values, where);
  }

  /** Issuing and active grants of this target with the same handle, but for `exclude`: the holders of the role. */
  async function otherHolders(handle: string, exclude: string | null): Promise<Grant[]> {
    const found: Grant[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await ctx.store.listGrants({
        targetId: target.id,
        states: LIVE_STATES,
        limit: GRANT_PAGE,
        ...(after === undefined ? {} : { after }),
      });
      for (const grant of page) if (grant.handle === handle && grant.id !== exclude) found.push(grant);
      if (page.length < GRANT_PAGE) return found;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Takes the role away unless another live grant holds it; the caller holds the handle's lock. "Already gone"
   * (404, 410) is success.
   *
   * Across replicas the list and the remove are not atomic. What keeps that safe: the lifecycle commits a grant in
   * `issuing` before it calls `add`, and moves a grant out of `active` before it calls `revoke`, so every membership the
   * target holds has a durable live row by the time it is added, and every remove decision reads those rows.
   * - No membership outlives its grants: of two grants revoked at once, the one that lists last no longer sees the
   *   other as live (it left `active` before that other listed), so it removes; and `verifyRemoved` only passes when the
   *   target says absent or a live grant still holds the role.
   * - The window fails closed: a grant committed on another replica between our list and our remove has its `add`
   *   undone by our remove, so it stays active without the role until it ends (the caller asks again). Re-adding after
   *   the remove would close that gap but could leave a membership no grant holds when that grant is revoked at the same
   *   moment, so it is not done: losing access beats leaving it. Inside one process the handle's lock closes the window.
   */
  async function releaseLocked(
    m: Membership,
    grantId: string | null,
  ): Promise<{ heldBy: readonly Grant[]; removed: boolean }> {
    const heldBy = await otherHolders(m.handle, grantId);
    if (heldBy.length > 0) return { heldBy, removed: false };
    const status = await expectOk(settings.remove, valuesOf(m, grantId ?? "reconciler"), [404, 410]);
    // 404/410: the target says the membership was already gone.
    return { heldBy, removed: status !== 404 && status !== 410 };
  }

  function describeHolders(grants: readonly Grant[]): string {
    const shown = grants.slice(0, 10).map((g) => `${g.id} (${g.state})`);
    return `${shown.join(", ")}${grants.length > 10 ? ` and ${grants.length - 10} more` : ""}`;
  }

  return {
    type: "http",
    targetId: target.id,

    validateEntitlement(entitlement) {
      const { role } = parseEntitlementSettings(entitlement);
      elevationRoles.add(role);
    },

    prepare({ identity, entitlement }) {
      const { role } = parseEntitlementSettings(entitlement);
      const m = membership(subjectOf(identity, target.id, settings.subjectAttribute), role);
      return { handle: m.handle, handleData: { subject: m.subject, role: m.role } };
    },

    async issue({ grant, expiresAt }) {
      const m = membershipOf(grant);
      await locks.run(m.handle, async () => {
        try {
          await expectOk(settings.add, valuesOf(m, grant.id));
        } catch (error) {
          // The add may have reached the target although its answer was lost: undo it unless another grant holds the
          // role. If this fails too, the lifecycle revokes the failed grant, which does the same with retries.
          try {
            await releaseLocked(m, grant.id);
          } catch (cleanup) {
            ctx.logger.warn(
              { target: target.id, grant: grant.id, error: describeError(cleanup) },
              "could not undo a failed add; the lifecycle's removal of the failed grant will retry",
            );
          }
          throw error;
        }
      });
      return { credential: credentialOf(m, expiresAt), handleData: { subject: m.subject, role: m.role } };
    },

    async renew() {
      // A membership has no expiry downstream: the broker's scheduler ends it, so renewal changes nothing there.
      return { credential: null, handleData: {} };
    },

    async revoke({ grant }) {
      const m = membershipOf(grant);
      const { heldBy, removed } = await locks.run(m.handle, () => releaseLocked(m, grant.id));
      if (heldBy.length > 0) {
        ctx.logger.info(
          { target: target.id, grant: grant.id, handle: m.handle, heldBy: heldBy.map((g) => g.id) },
          "role left in place: other live grants hold it",
        );
      }
      return { removed: removed ? [`role membership ${m.handle}`] : [], sessionsEnded: null };
    },

    async verifyRemoved({ grant }) {
      const m = membershipOf(grant);
      const heldBy = await otherHolders(m.handle, grant.id);
      if (heldBy.length > 0) {
        return evidenceOf(ctx.clock.now(), [
          check(
            "role.released",
            true,
            `${m.handle} is still held by live grant(s) ${describeHolders(heldBy)}; the last of them removes it`,
          ),
        ]);
      }
      let absent: ReturnType<typeof check>;
      try {
        const state = await readCheck(m, grant.id);
        absent = check("role.absent", !state.held, state.observed);
      } catch (error) {
        absent = check("role.absent", false, `the target could not be asked: ${describeError(error)}`);
      }
      return evidenceOf(ctx.clock.now(), [
        check("role.released", true, `no other issuing or active grant holds ${m.handle}`),
        absent,
      ]);
    },

    async listAccounts() {
      const spec = settings.listAccounts;
      if (!spec) {
        if (!warnedUnlisted) {
          warnedUnlisted = true;
          ctx.logger.warn(
            { target: target.id },
            "listAccounts is not configured: memberships in this target cannot be listed, reconciled or reported",
          );
        }
        return [];
      }
      const { accounts, skipped } = accountsOf(spec, await call(spec, NO_VALUES), elevationRoles, where);
      if (skipped > 0) ctx.logger.warn({ target: target.id, skipped }, "listed items without a subject were skipped");
      return accounts;
    },

    async removeAccount(handle) {
      const m = parseHandle(handle);
      if (!m || !elevationRoles.has(m.role)) {
        throw new Error(
          `${where}: ${handle} is not a membership the broker manages (no entitlement hands out its role)`,
        );
      }
      return locks.run(m.handle, async () => {
        const heldBy = await otherHolders(m.handle, null);
        if (heldBy.length > 0) {
          throw new Error(`${where}: ${m.handle} is held by live grant(s) ${describeHolders(heldBy)}; not removed`);
        }
        if (!(await readCheck(m, "reconciler")).held) return false;
        await releaseLocked(m, null);
        return true;
      });
    },

    async rotateAdminSecret() {
      return {
        rotated: false,
        detail:
          "the API credential is a header the configuration supplies; the broker cannot rotate it: rotate it in the SaaS and update the config (or the {env}/{file} it is read from), then restart the broker",
      };
    },

    async healthy() {
      try {
        if (settings.health) {
          const { status } = await call(settings.health, NO_VALUES);
          return settings.health.ok.has(status);
        }
        // Any answer short of a server error means the service is there.
        return (await client.send("HEAD", "", undefined)).status < 500;
      } catch {
        return false;
      }
    },

    async close() {
      client.close();
    },
  };
}
