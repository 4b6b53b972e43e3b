import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { leafHash, merkleRoot } from "./merkle.js";

const sha = (...parts: Buffer[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
const h = (i: number) => createHash("sha256").update(String(i)).digest("hex");

describe("RFC 6962 Merkle tree hash", () => {
  it("is SHA-256 of nothing for an empty range", () => {
    expect(merkleRoot([])).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("prefixes leaves with 0x00 and nodes with 0x01, splitting at the largest power of two below n", () => {
    const [a, b, c] = [h(1), h(2), h(3)].map(leafHash) as [Buffer, Buffer, Buffer];
    expect(leafHash(h(1)).equals(sha(Buffer.from([0]), Buffer.from(h(1), "hex")))).toBe(true);
    expect(merkleRoot([h(1)])).toBe(a.toString("hex"));
    expect(merkleRoot([h(1), h(2)])).toBe(sha(Buffer.from([1]), a, b).toString("hex"));
    // n = 3: k = 2, so (a b) c — not a (b c).
    expect(merkleRoot([h(1), h(2), h(3)])).toBe(sha(Buffer.from([1]), sha(Buffer.from([1]), a, b), c).toString("hex"));
  });

  it("changes when any leaf changes, is removed, or two leaves swap", () => {
    const leaves = Array.from({ length: 13 }, (_, i) => h(i));
    const root = merkleRoot(leaves);
    for (let i = 0; i < leaves.length; i++) {
      const edited = [...leaves];
      edited[i] = h(100 + i);
      expect(merkleRoot(edited)).not.toBe(root);
      expect(merkleRoot(leaves.filter((_, j) => j !== i))).not.toBe(root);
    }
    const swapped = [...leaves];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    expect(merkleRoot(swapped)).not.toBe(root);
  });
});
