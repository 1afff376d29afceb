/**
 * requestHeaders() (src/http/field-headers.ts): the request's Headers, answered from the parsed field lines by a
 * FieldHeaders where the runtime allows (Node, Deno), must read exactly as a Headers built from those lines, before
 * and after anything fills it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FieldHeaders, requestHeaders } from "../src/http/field-headers.js";

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
  it("is a Headers, and a FieldHeaders on Node", () => {
    if (!("bun" in process.versions)) assert.ok(requestHeaders([]) instanceof FieldHeaders);
    assert.ok(new FieldHeaders([]) instanceof Headers);
    assert.equal(Object.prototype.toString.call(new FieldHeaders([])), "[object Headers]");
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

  it("does not see later changes to the array it was given once filled", () => {
    const lines: Array<[string, string]> = [["a", "1"]];
    const headers = requestHeaders(lines);
    assert.deepEqual([...headers], [["a", "1"]]);
    lines.push(["b", "2"]);
    assert.equal(headers.has("b"), false);
  });
});
