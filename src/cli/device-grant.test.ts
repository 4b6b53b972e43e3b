// The device grant's poll loop (RFC 8628 3.4-3.5) on a scripted provider and a manual clock: the interval it was
// given, 5 s more after each slow_down, and a clear end on access_denied, expired_token or the code's own expiry.
import { describe, expect, it } from "vitest";
import { type DevicePrompt, type FetchLike, runDeviceGrant } from "./device-grant.js";
import { CliError, EXIT } from "./exit-codes.js";

const ISSUER = "https://idp.example";
const DEVICE_CODE = "device-code-secret-value";

/** A provider whose token endpoint answers `answers` in turn; records each poll's time and body. */
function provider(answers: readonly { status: number; body: unknown }[], start: Record<string, unknown> = {}) {
  let clock = 0;
  const waits: number[] = [];
  const polls: { at: number; form: URLSearchParams }[] = [];
  const prompts: DevicePrompt[] = [];
  let next = 0;
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
  const fetchFn: FetchLike = async (input, init) => {
    if (input === `${ISSUER}/.well-known/openid-configuration`) {
      return json(200, {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/auth`,
        device_authorization_endpoint: `${ISSUER}/device`,
        token_endpoint: `${ISSUER}/token`,
      });
    }
    if (input === `${ISSUER}/device`) {
      return json(200, {
        device_code: DEVICE_CODE,
        user_code: "WDJB-MJHT",
        verification_uri: `${ISSUER}/device`,
        verification_uri_complete: `${ISSUER}/device?user_code=WDJB-MJHT`,
        expires_in: 60,
        interval: 2,
        ...start,
      });
    }
    if (input === `${ISSUER}/token`) {
      polls.push({ at: clock, form: new URLSearchParams(String(init.body)) });
      const answer = answers[Math.min(next++, answers.length - 1)] ?? { status: 500, body: {} };
      return json(answer.status, answer.body);
    }
    return json(404, {});
  };
  const run = () =>
    runDeviceGrant({
      issuer: ISSUER,
      clientId: "ephemera-cli",
      scope: "openid email",
      fetch: fetchFn,
      now: () => clock,
      wait: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      prompt: (p) => prompts.push(p),
    });
  return { run, waits, polls, prompts };
}

const pending = { status: 400, body: { error: "authorization_pending" } };
const slowDown = { status: 400, body: { error: "slow_down" } };

async function failure(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof CliError)) throw new Error(`expected a CliError, got ${String(error)}`);
  expect(error.message).not.toContain(DEVICE_CODE);
  return error;
}

describe("the device authorization grant", () => {
  it("shows the code, polls at the provider's interval and answers the ID token", async () => {
    const p = provider([pending, pending, { status: 200, body: { id_token: "id.token.value", access_token: "a" } }]);
    await expect(p.run()).resolves.toBe("id.token.value");
    expect(p.prompts).toEqual([
      {
        verificationUri: `${ISSUER}/device`,
        userCode: "WDJB-MJHT",
        verificationUriComplete: `${ISSUER}/device?user_code=WDJB-MJHT`,
        expiresInSeconds: 60,
      },
    ]);
    expect(p.waits).toEqual([2000, 2000, 2000]);
    expect(p.polls[0]?.form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:device_code");
    expect(p.polls[0]?.form.get("device_code")).toBe(DEVICE_CODE);
    expect(p.polls[0]?.form.get("client_id")).toBe("ephemera-cli");
  });

  it("waits 5 s longer after each slow_down, for that poll and every later one", async () => {
    const p = provider([pending, slowDown, pending, slowDown, { status: 200, body: { id_token: "t" } }]);
    await p.run();
    expect(p.waits).toEqual([2000, 2000, 7000, 7000, 12000]);
  });

  it("polls every 5 s when the provider names no interval", async () => {
    const p = provider([pending, { status: 200, body: { id_token: "t" } }], { interval: undefined });
    await p.run();
    expect(p.waits).toEqual([5000, 5000]);
  });

  it("ends with a clear, non-zero error when the person denies the sign-in", async () => {
    const p = provider([pending, { status: 400, body: { error: "access_denied", error_description: DEVICE_CODE } }]);
    const error = await failure(p.run());
    expect(error.exitCode).toBe(EXIT.forbidden);
    expect(error.message).toMatch(/denied at the identity provider/);
  });

  it("ends when the provider says the device code expired", async () => {
    const p = provider([pending, { status: 400, body: { error: "expired_token" } }]);
    const error = await failure(p.run());
    expect(error.exitCode).toBe(EXIT.forbidden);
    expect(error.message).toMatch(/device code expired.*run ephemera login again/);
  });

  it("stops polling at the code's own expiry even when the provider keeps answering pending", async () => {
    const p = provider([pending], { expires_in: 9, interval: 2 });
    const error = await failure(p.run());
    expect(error.message).toMatch(/device code expired/);
    expect(p.polls.map((poll) => poll.at)).toEqual([2000, 4000, 6000, 8000]);
  });

  it("names an unexpected OAuth error by its code only", async () => {
    const p = provider([{ status: 400, body: { error: "invalid_client", error_description: "<script>" } }]);
    const error = await failure(p.run());
    expect(error.message).toBe("the identity provider refused the device sign-in (invalid_client)");
  });

  it("refuses a provider that speaks plain http off this machine", async () => {
    const error = await failure(
      runDeviceGrant({
        issuer: "http://idp.example",
        clientId: "c",
        scope: "openid",
        fetch: async () => new Response("{}"),
        now: () => 0,
        wait: async () => {},
        prompt: () => {},
      }),
    );
    expect(error.exitCode).toBe(EXIT.usage);
    expect(error.message).toMatch(/must be an https URL/);
  });
});
