// Templates of the http connector: whatever a value holds, it stays one path segment, one query value, one JSON string
// or one pointer token.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { replayableSeed } from "../../support/testing/random.js";
import { JsonTemplate, PathTemplate, PLACEHOLDERS, PointerTemplate, type TemplateValues } from "./template.js";

const fail = (rule: string): never => {
  throw new Error(rule);
};
const failAt = (at: string, rule: string): never => {
  throw new Error(`${at}: ${rule}`);
};
/** Any string: printable, full Unicode, and the characters that mean something in a URL or a pointer. */
const anyText = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.string({
    unit: fc.constantFrom("/", "?", "#", "&", "=", "%", ".", "~", "{", "}", "\\", "a", "2", "e", "F"),
    maxLength: 12,
  }),
);
const values = fc.record({ subject: anyText, role: anyText, grant: anyText });

/** The properties' seed: EPHEMERA_TEST_SEED replays a failed run. */
const seed = replayableSeed();

describe("path templates", () => {
  const template = PathTemplate.parse("/api/users/{subject}/roles/{role}?grant={grant}&x=1", PLACEHOLDERS, fail);

  it("a value can never add a segment, a query parameter or a fragment", () => {
    fc.assert(
      fc.property(values, (v: TemplateValues) => {
        let path: string;
        try {
          path = template.render(v);
        } catch (error) {
          // Refused only for values no URL can carry as one segment.
          expect(String(error)).toMatch(/empty value|only dots|not well-formed Unicode/);
          return;
        }
        const url = new URL(`http://h${path}`);
        expect(url.hash).toBe("");
        const segments = url.pathname.split("/");
        expect(segments).toHaveLength(6);
        expect(segments.slice(0, 3)).toEqual(["", "api", "users"]);
        expect(decodeURIComponent(segments[3]!)).toBe(v.subject);
        expect(segments[4]).toBe("roles");
        expect(decodeURIComponent(segments[5]!)).toBe(v.role);
        expect([...url.searchParams.keys()]).toEqual(["grant", "x"]);
        expect(url.searchParams.get("grant")).toBe(v.grant);
        // What was sent is what a server sees: no normalisation moved anything.
        expect(`${url.pathname}${url.search}`).toBe(path);
      }),
      { numRuns: 500, seed },
    );
  });

  it("refuses unknown placeholders, stray braces and characters outside a URL path", () => {
    expect(() => PathTemplate.parse("/x/{user}", PLACEHOLDERS, fail)).toThrow(
      "{user} is not a known placeholder (known: {subject}, {role}, {grant})",
    );
    expect(() => PathTemplate.parse("/x/{subject", PLACEHOLDERS, fail)).toThrow(/unbalanced/);
    expect(() => PathTemplate.parse("/x/{subject}", [], fail)).toThrow(/none are allowed here/);
    expect(() => PathTemplate.parse("x/{subject}", PLACEHOLDERS, fail)).toThrow(/must start with \//);
    expect(() => PathTemplate.parse("/x#y", PLACEHOLDERS, fail)).toThrow(/fragment/);
    expect(() => PathTemplate.parse("/a b", PLACEHOLDERS, fail)).toThrow(/only URL path characters/);
    expect(() => PathTemplate.parse("/a%zz", PLACEHOLDERS, fail)).toThrow(/only URL path characters/);
    expect(() => PathTemplate.parse("/{s e c r e t}", PLACEHOLDERS, fail)).toThrow(/^a placeholder is not a known/);
  });
});

describe("JSON body templates", () => {
  const body = JsonTemplate.parse(
    { user: "{subject}", role: "{role}", note: "ephemera grant {grant} for {role}", tags: ["{role}", 1, true, null] },
    PLACEHOLDERS,
    failAt,
  );

  it("a value is always one JSON string: it never closes a quote or adds a key", () => {
    fc.assert(
      fc.property(values, (v) => {
        const parsed = JSON.parse(JSON.stringify(body.render(v)));
        expect(parsed).toEqual({
          user: v.subject,
          role: v.role,
          note: `ephemera grant ${v.grant} for ${v.role}`,
          tags: [v.role, 1, true, null],
        });
      }),
      { numRuns: 300, seed },
    );
  });

  it("refuses placeholders in keys, unknown placeholders and values that are not JSON", () => {
    expect(() => JsonTemplate.parse({ "{subject}": 1 }, PLACEHOLDERS, failAt)).toThrow(/keys must be plain text/);
    expect(() => JsonTemplate.parse({ a: ["{who}"] }, PLACEHOLDERS, failAt)).toThrow(".a[0]: {who} is not a known");
    expect(() => JsonTemplate.parse({ a: Number.NaN }, PLACEHOLDERS, failAt)).toThrow(".a: must be a finite number");
    expect(() => JsonTemplate.parse({ a: () => 1 }, PLACEHOLDERS, failAt)).toThrow(".a: must be JSON");
  });

  it("keeps a __proto__ key a plain key", () => {
    const rendered = JsonTemplate.parse(JSON.parse('{"__proto__": {"x": "{role}"}}'), PLACEHOLDERS, failAt).render({
      subject: "s",
      role: "r",
      grant: "g",
    });
    expect(JSON.parse(JSON.stringify(rendered))).toEqual(JSON.parse('{"__proto__": {"x": "r"}}'));
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe("JSON pointer templates", () => {
  it("a value stays one reference token, whatever / or ~ it holds", () => {
    const pointer = PointerTemplate.parse("/roles/{role}", PLACEHOLDERS, fail);
    fc.assert(
      fc.property(values, (v) => {
        const document = { roles: { [v.role]: "held" }, "roles/x": "wrong" };
        expect(pointer.resolve(document, v)).toBe(Object.hasOwn(document.roles, v.role) ? "held" : undefined);
      }),
      { numRuns: 300, seed },
    );
  });

  it("reads RFC 6901 escapes, array indexes, and nothing from prototypes", () => {
    const none = { subject: "", role: "", grant: "" };
    const doc = { "a/b": { "m~n": [10, 20] } };
    expect(PointerTemplate.parse("/a~1b/m~0n/1", [], fail).resolve(doc, none)).toBe(20);
    expect(PointerTemplate.parse("/a~1b/m~0n/01", [], fail).resolve(doc, none)).toBeUndefined();
    expect(PointerTemplate.parse("", [], fail).resolve(doc, none)).toBe(doc);
    expect(PointerTemplate.parse("/constructor", [], fail).resolve({}, none)).toBeUndefined();
    expect(() => PointerTemplate.parse("roles", [], fail)).toThrow(/JSON pointer/);
    expect(() => PointerTemplate.parse("/a~2", [], fail)).toThrow(/~0 or ~1/);
  });
});
