// A real login over the network with a user and a password: the removal probe and the admin-rotation check both use it.
import { type Connection, createConnection } from "mysql2/promise";
import type { LoginOutcome } from "../support/evidence.js";
import {
  codeOf,
  ER_ACCESS_DENIED_ERROR,
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR,
  ER_ACCOUNT_HAS_BEEN_LOCKED,
  errnoOf,
} from "./sql.js";

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
}

/**
 * Server answers that mean "this user with this password may not log in": wrong or unknown account (1045, or 1698 when
 * the server's pretend plugin for an unknown name is one the client cannot speak), locked account (4151).
 */
const REFUSALS = new Set([ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR, ER_ACCOUNT_HAS_BEEN_LOCKED]);

/**
 * Logs in as `user` with `password` and disconnects. No default database is asked for, so an account without rights on
 * one still counts as accepted. Refusal text is the error code only: the server's message names the user, not the secret,
 * but nothing from the attempt is echoed beyond the code.
 */
export async function attemptLogin(endpoint: Endpoint, user: string, password: string): Promise<LoginOutcome> {
  let connection: Connection;
  try {
    connection = await openLogin(endpoint, user, password);
  } catch (error) {
    const errno = errnoOf(error);
    if (errno !== undefined && REFUSALS.has(errno)) return { accepted: false, refusal: codeOf(error) };
    return { accepted: null, error: codeOf(error) };
  }
  await closeLogin(connection);
  return { accepted: true };
}

/** One connection outside the pool, bounded by the connect timeout. */
export function openLogin(endpoint: Endpoint, user: string, password: string): Promise<Connection> {
  return createConnection({
    host: endpoint.host,
    port: endpoint.port,
    user,
    password,
    connectTimeout: endpoint.connectTimeoutMs,
  });
}

/** Quits politely (the session leaves the process list at once) and never waits on a dead socket. */
export async function closeLogin(connection: Connection): Promise<void> {
  await connection.end().catch(() => connection.destroy());
}
