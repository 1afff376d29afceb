/**
 * LineHeaders (src/http/line-headers.ts): a request's Headers over the parsed field lines (requestHeaders) and a
 * FastResponse's over its init (responseHeaders), kept as lines where the runtime allows (Node, Deno, Chromium), must
 * read exactly as the runtime's Headers built from the same lines or init, before and after anything fills them, and
 * refuse what it refuses.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LineHeaders, requestHeaders, responseHeaders } from "../src/http/line-headers.js";

const LINES: Array<[string, string]> = [
  ["host", "example.test"],
  ["accept", "text/html"],
  ["x-twice", "one"],
  ["set-cookie", "a=1"],
  ["x-twice", "two"],
  ["set-cookie", "b=2"],
  ["empty", ""],
];

const both = () => ({ lazy: requestHeaders(LINES.map(([name, value]) => [name, value])), reference: new Headers(LINES) });

describe("requestHeaders", () => {
  it("is a Headers, and a LineHeaders on Node", () => {
    if (!("bun" in process.versions)) assert.ok(requestHeaders([]) instanceof LineHeaders);
    assert.ok(new LineHeaders() instanceof Headers);
    assert.equal(Object.prototype.toString.call(new LineHeaders()), "[object Headers]");
  });

  it("get() and has() answer as a Headers of the same lines, for any case of the name", () => {
    const { lazy, reference } = both();
    for (const name of ["host", "HOST", "Accept", "x-twice", "X-Twice", "set-cookie", "empty", "missing"]) {
      assert.equal(lazy.get(name), reference.get(name), `get(${name})`);
      assert.equal(lazy.has(name), reference.has(name), `has(${name})`);
    }
    assert.equal(lazy.get("x-twice"), "one, two");
  });

  it("rejects an invalid name as Headers does", () => {
    const { lazy, reference } = both();
    assert.throws(() => reference.get("bad name"), TypeError);
    assert.throws(() => lazy.get("bad name"), TypeError);
    assert.throws(() => lazy.has("bad:name"), TypeError);
    // Still usable afterwards, now as a filled Headers.
    assert.equal(lazy.get("accept"), "text/html");
  });

  it("iterates, spreads and copies as a Headers of the same lines", () => {
    for (const read of [
      (headers: Headers) => [...headers],
      (headers: Headers) => [...headers.entries()],
      (headers: Headers) => [...headers.keys()],
      (headers: Headers) => [...headers.values()],
      (headers: Headers) => headers.getSetCookie(),
      (headers: Headers) => {
        const seen: string[] = [];
        headers.forEach((value, name) => {
          seen.push(`${name}=${value}`);
        });
        return seen;
      },
      (headers: Headers) => [...new Headers(headers)],
      (headers: Headers) => [...new Response(null, { headers }).headers],
      (headers: Headers) => [...new Request("http://example.test/", { headers }).headers],
    ]) {
      const { lazy, reference } = both();
      assert.deepEqual(read(lazy), read(reference), read.toString());
    }
  });

  it("changes apply on top of the lines", () => {
    const { lazy, reference } = both();
    for (const headers of [lazy, reference]) {
      headers.set("accept", "application/json");
      headers.append("x-new", "1");
      headers.delete("x-twice");
    }
    assert.deepEqual([...lazy], [...reference]);
    assert.equal(lazy.get("accept"), "application/json");
    assert.equal(lazy.has("x-twice"), false);
  });

  it("leaves the lines it was given as they are when changed", () => {
    const lines: Array<[string, string]> = [["a", "1"]];
    const headers = requestHeaders(lines);
    headers.append("b", "2");
    headers.set("a", "3");
    assert.deepEqual(lines, [["a", "1"]]);
    assert.equal(headers.get("a"), "3");
  });

  it("does not see later changes to the array it was given once filled", () => {
    const lines: Array<[string, string]> = [["a", "1"]];
    const headers = requestHeaders(lines);
    assert.deepEqual([...headers], [["a", "1"]]);
    lines.push(["b", "2"]);
    assert.equal(headers.has("b"), false);
  });
});

describe("responseHeaders", () => {
  const INITS: Array<[string, HeadersInit]> = [
    ["a record", { "Content-Type": "text/plain", "X-Padded": "  spaced\t", "x-empty": "" }],
    [
      "a list with repeats",
      [
        ["Set-Cookie", "a=1"],
        ["x-twice", "1"],
        ["set-cookie", "b=2"],
        ["X-Twice", "2"],
      ],
    ],
    [
      "a Headers",
      new Headers([
        ["accept", "text/html"],
        ["set-cookie", "c=3"],
      ]),
    ],
    ["a Map", new Map([["x-map", "yes"]]) as unknown as HeadersInit],
  ];

  for (const [kind, init] of INITS) {
    it(`reads as a Headers made from ${kind}, before and after changes and once filled`, () => {
      const lines = responseHeaders(init);
      const reference = new Headers(init);
      if (!("bun" in process.versions)) assert.equal(LineHeaders.linesOf(lines) !== undefined, true, "kept as lines");
      for (const name of ["content-type", "X-PADDED", "x-empty", "set-cookie", "x-twice", "accept", "x-map", "missing"]) {
        assert.equal(lines.get(name), reference.get(name), `get(${name})`);
        assert.equal(lines.has(name), reference.has(name), `has(${name})`);
      }
      assert.deepEqual(lines.getSetCookie(), reference.getSetCookie());
      for (const headers of [lines, reference]) {
        headers.append("x-added", " one ");
        headers.set("x-twice", "3");
        headers.delete("accept");
      }
      assert.equal(lines.get("x-added"), "one");
      assert.equal(lines.get("x-twice"), "3");
      assert.deepEqual([...lines], [...reference]);
      assert.equal(LineHeaders.linesOf(lines), undefined, "filled once iterated");
      lines.append("x-after", "1");
      reference.append("x-after", "1");
      assert.deepEqual([...lines], [...reference]);
    });
  }

  it("refuses what Headers refuses, with a TypeError", () => {
    for (const init of [
      { "bad name": "x" },
      { "x-a": "line\r\nbreak" },
      { "x-a": "nul\0" },
      { "x-a": "wide \u2603" },
      [["only-name"]],
    ] as HeadersInit[]) {
      assert.throws(() => new Headers(init), TypeError, `the runtime refuses ${JSON.stringify(init)}`);
      assert.throws(() => responseHeaders(init), TypeError, JSON.stringify(init));
    }
    const headers = responseHeaders({});
    assert.throws(() => headers.append("x-a", "a\nb"), TypeError);
    assert.throws(() => headers.set("bad:name", "x"), TypeError);
    assert.throws(() => headers.get("bad name"), TypeError);
    assert.equal(headers.has("x-a"), false, "nothing was added by a refused call");
  });

  it("copies another LineHeaders' lines, not its later changes", () => {
    const first = responseHeaders({ "x-a": "1" });
    const second = responseHeaders(first);
    first.append("x-b", "2");
    assert.equal(second.get("x-a"), "1");
    assert.equal(second.has("x-b"), false);
  });
});
