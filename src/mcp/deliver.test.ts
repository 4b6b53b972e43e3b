// Default sink paths: one file per entitlement, never shared by two names, never outside the sink folder.
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadMcpConfig } from "./config.js";
import { SinkWriter } from "./deliver.js";

const DIR = join("/", "sinks-root");
const writer = new SinkWriter(
  loadMcpConfig({ env: { EPHEMERA_TOKEN: "ephk_test" }, sinkDir: DIR, defaultSinkDir: () => DIR }),
);
const pathOf = (entitlement: string) => writer.sinkOf(entitlement).path;

describe("default sink paths", () => {
  it("a target folder with one file per entitlement name", () => {
    expect(pathOf("orders/read")).toBe(join(DIR, "orders", "read.env"));
  });

  it.each([
    ["a/b-c", "a-b/c"],
    ["a/b:c", "a/b;c"],
    ["a/b%3Ac", "a/b:c"],
    ["a/b/c", "a/b-c"],
    ["ab", "a/b"],
  ])("%s and %s get different files", (one, other) => {
    expect(pathOf(one)).not.toBe(pathOf(other));
  });

  it.each(["../x", "a/..", "../../etc/passwd", "./a", "a/.hidden", ".."])(
    "%s stays inside the sink folder, in no hidden file",
    (entitlement) => {
      const inside = relative(DIR, pathOf(entitlement));
      expect(inside.startsWith("..")).toBe(false);
      expect(inside.split("/").some((part) => part.startsWith("."))).toBe(false);
    },
  );
});
