// Keyed HMAC of values an auditor must be able to match (a token id, a source address) but the log must not hold:
// whoever has the key computes the same tag from the value (`ephemera audit hmac VALUE`); the log alone reveals nothing.
import { createHmac } from "node:crypto";

/** Computes audit HMAC tags; `hmac-sha256:<hex>`, the prefix naming the scheme so the format can change later. */
export class AuditHmac {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error("the audit HMAC key must be at least 32 bytes");
    this.#key = Buffer.from(key);
  }

  tag(value: string): string {
    return `hmac-sha256:${createHmac("sha256", this.#key).update(value, "utf8").digest("hex")}`;
  }

  /** The tag, or null for no value. */
  tagOrNull(value: string | null | undefined): string | null {
    return value === null || value === undefined ? null : this.tag(value);
  }
}
