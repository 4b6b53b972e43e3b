// The error catalogue and docs/errors.md stay in step; redaction masks the secrets the broker handles.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOGUE, redactSecrets } from "./errors.js";

describe("error catalogue", () => {
  const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  for (const [code, { status }] of Object.entries(ERROR_CATALOGUE)) {
    it(`${code} is documented with status ${status}`, () => {
      expect(doc).toMatch(new RegExp(`\\| \`${code}\`\\s*\\| ${status}\\s*\\|`));
    });
  }
  it("documents no code that does not exist", () => {
    const documented = [...doc.matchAll(/^\| `([a-z_]+)`\s*\| \d{3}\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });
});

describe("redactSecrets", () => {
  it.each([
    ["key ephk_abcdefghij123456_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6 leaked", "Zm9vYmFyYmF6cXV4"],
    ["Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "c2lnbmF0dXJl"],
    ["postgres://broker:s3cr3t@127.0.0.1/orders", "s3cr3t"],
    ["password=hunter2 and more", "hunter2"],
  ])("masks %s", (text, secret) => {
    expect(redactSecrets(text)).not.toContain(secret);
    expect(redactSecrets(text)).toContain("[REDACTED]");
  });
});
