// Real servers for connector tests. Outside CI a test whose server is not running is skipped with a note; in CI
// (`CI=true`) it fails, so a missing service can never pass silently.
import { createConnection } from "node:net";

/** True when something accepts TCP connections on 127.0.0.1:`port` within a second. */
export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Decides whether a suite that needs `name` runs: true when `probe` resolves. When it fails, CI throws (the test
 * file fails) and a developer's run skips with a message saying which service to start.
 */
export async function requireService(name: string, probe: () => Promise<unknown>): Promise<boolean> {
  let reason: string;
  try {
    const result = await probe();
    if (result !== false) return true;
    reason = "not reachable";
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  const message = `${name} is needed by this suite and is not available (${reason})`;
  if (process.env.CI === "true") throw new Error(`${message}; in CI every service must be up`);
  console.warn(`skipping: ${message}`);
  return false;
}
