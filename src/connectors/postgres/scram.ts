// SCRAM-SHA-256 password verifiers (RFC 5802, RFC 7677) computed in the broker, so a password never travels to
// PostgreSQL in a statement (where `log_statement = ddl` would write it to the server log): only the verifier does.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's own default iteration count (`scram_iterations` from PostgreSQL 16). */
/**
 * Iterations in the verifiers the broker computes. Stretching protects guessable passwords; the broker's are 32 random
 * characters (~165 bits), where 16 iterations lose nothing and cut issue from ~11 ms to ~2 ms (PostgreSQL runs one
 * PBKDF2 at this count on every CREATE ROLE). Operators may set PostgreSQL's own 4096 with `scramIterations`.
 */
export const DEFAULT_SCRAM_ITERATIONS = 16;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

async function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  // SASLprep is the identity on printable ASCII; the broker's own passwords are [0-9a-z], so refuse anything else
  // rather than risk a verifier that PostgreSQL's SASLprep would compute differently.
  if (!PRINTABLE_ASCII.test(password))
    throw new Error("a SCRAM verifier is only computed for printable ASCII passwords");
  return pbkdf2Async(password, salt, iterations, 32, "sha256");
}

function keysOf(salted: Buffer): { storedKey: Buffer; serverKey: Buffer } {
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return {
    storedKey: createHash("sha256").update(clientKey).digest(),
    serverKey: createHmac("sha256", salted).update("Server Key").digest(),
  };
}

/**
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, the form PostgreSQL keeps in `pg_authid.rolpassword`.
 * Given as `PASSWORD '…'`, PostgreSQL stores it as is instead of hashing (it still runs one PBKDF2 with these
 * iterations to refuse an empty password, which is why the iteration count sets the cost of CREATE ROLE).
 */
export async function scramVerifier(password: string, iterations = DEFAULT_SCRAM_ITERATIONS): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error("SCRAM iterations must be a positive integer");
  const salt = randomBytes(16);
  const { storedKey, serverKey } = keysOf(await saltedPassword(password, salt, iterations));
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** True when `verifier` was made from `password`: lets a test prove which secret a role holds, even under trust auth. */
export async function scramVerifierMatches(verifier: string, password: string): Promise<boolean> {
  const parts = VERIFIER.exec(verifier);
  if (!parts) return false;
  const [, iterations, salt, stored] = parts as unknown as [string, string, string, string];
  const { storedKey } = keysOf(await saltedPassword(password, Buffer.from(salt, "base64"), Number(iterations)));
  const expected = Buffer.from(stored, "base64");
  return expected.length === storedKey.length && timingSafeEqual(expected, storedKey);
}
