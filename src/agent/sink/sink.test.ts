import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkTemplate, renderSink, type SinkCredential, SinkError, writeSinkAtomically } from "./index.js";

const credential: SinkCredential = {
  grantId: "gr_01",
  expiresAt: "2030-01-01T00:00:00.000Z",
  fields: { username: "eph_orders_x", password: `p'a"s$s\`w\\o rd #1 <&>` },
  env: { PGUSER: "eph_orders_x", PGPASSWORD: `p'a"s$s\`w\\o rd #1 <&>`, PLAIN: "a b $HOME" },
};

describe("renderSink", () => {
  it("env: a POSIX shell sourcing the file reads every value back unchanged", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sink-sh-"));
    const file = join(dir, "c.env");
    await writeFile(file, renderSink("env", credential));
    const dump = execFileSync(
      "sh",
      [
        "-c",
        '. "$1"; printf "%s\\0" "$PGUSER" "$PGPASSWORD" "$PLAIN" "$EPHEMERA_GRANT_ID" "$EPHEMERA_EXPIRES_AT"',
        "sh",
        file,
      ],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/should-not-expand" } },
    ).toString();
    await rm(dir, { recursive: true, force: true });
    expect(dump.split("\0").slice(0, 5)).toEqual([
      "eph_orders_x",
      credential.env.PGPASSWORD,
      "a b $HOME",
      "gr_01",
      "2030-01-01T00:00:00.000Z",
    ]);
  });

  it("env: a value with a line break is one double-quoted line, and a bad variable name is refused", () => {
    const content = renderSink("env", { ...credential, env: { CERT: "line1\nline2" } });
    expect(content.split("\n")[0]).toBe('CERT="line1\\nline2"');
    expect(() => renderSink("env", { ...credential, env: { "A-B; rm": "x" } })).toThrow(SinkError);
  });

  it("json: the grant id, expiry, fields and env", () => {
    expect(JSON.parse(renderSink("json", credential))).toEqual(credential);
  });

  it("template: Mustache without HTML escaping; a name that resolves to nothing is an error naming it, not a value", () => {
    const out = renderSink("template", credential, "user={{fields.username}} pass={{fields.password}} id={{grantId}}");
    expect(out).toBe(`user=eph_orders_x pass=${credential.fields.password} id=gr_01`);
    const bad = () => renderSink("template", credential, "{{fields.pasword}}");
    expect(bad).toThrow(/fields\.pasword/);
    try {
      bad();
    } catch (error) {
      expect(String(error)).not.toContain(credential.fields.password);
    }
    expect(() => checkTemplate("{{#fields}}unclosed")).toThrow(SinkError);
    expect(() => renderSink("template", credential)).toThrow(SinkError);
  });

  it("template: a partial or lambda-looking name runs nothing and reads no file", () => {
    const out = renderSink("template", credential, "[{{> /etc/passwd}}][{{{env.PLAIN}}}]");
    expect(out).toBe("[][a b $HOME]");
  });
});

describe("writeSinkAtomically", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sink-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the content with mode 0600 and leaves no temporary file", async () => {
    const path = join(dir, "db.env");
    await writeFile(path, "OLD=1\n", { mode: 0o644 });
    await writeSinkAtomically(path, "NEW=2\n");
    expect(await readFile(path, "utf8")).toBe("NEW=2\n");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["db.env"]);
    await writeSinkAtomically(path, "NEWER=3\n", { mode: 0o640 });
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it("a failed rename leaves what was at the path untouched and removes the temporary file", async () => {
    const path = join(dir, "db.env");
    await mkdir(path);
    await writeFile(join(path, "inside"), "x");
    await expect(writeSinkAtomically(path, "PARTIAL=2\n")).rejects.toThrow(SinkError);
    expect(await readdir(dir)).toEqual(["db.env"]);
    expect(await readdir(path)).toEqual(["inside"]);
  });

  it("gives the file the configured owner (root), or fails without touching the old file (others)", async () => {
    const path = join(dir, "db.env");
    await writeSinkAtomically(path, "KEEP=1\n");
    const attempt = writeSinkAtomically(path, "NEW=2\n", { uid: 1, gid: 1 });
    if (process.getuid?.() === 0) {
      await attempt;
      const info = await stat(path);
      expect([info.uid, info.gid, await readFile(path, "utf8")]).toEqual([1, 1, "NEW=2\n"]);
    } else {
      await expect(attempt).rejects.toThrow(/EPERM/);
      expect(await readFile(path, "utf8")).toBe("KEEP=1\n");
    }
    expect(await readdir(dir)).toEqual(["db.env"]);
  });

  it("a sink in a directory that does not exist fails with the path and no value", async () => {
    const path = join(dir, "missing", "db.env");
    await expect(writeSinkAtomically(path, "SECRET=hunter2\n")).rejects.toThrow(/missing\/db\.env: ENOENT/);
  });

  it("readers polling during many rewrites never see a partial or empty file", async () => {
    const path = join(dir, "big.json");
    const big = (n: number) => JSON.stringify({ n, pad: "x".repeat(256 * 1024) });
    await writeSinkAtomically(path, big(0));
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(path, "utf8");
        expect(() => JSON.parse(text)).not.toThrow();
        reads++;
      }
    })();
    for (let n = 1; n <= 20; n++) await writeSinkAtomically(path, big(n));
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(path, "utf8")).n).toBe(20);
  });
});
