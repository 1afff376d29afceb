/**
 * FastResponse (src/http/fast-response.ts): a Response to the handler's code that the server writes in one buffer
 * while its body is a string or bytes, and through the runtime's Response once something has built that. The wire
 * bytes must be what the runtime's own Response would produce: the same status, headers, length and body.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FastResponse, type FetchHandler } from "../src/index.js";
import { exchange, header, startServer, stopServer, type WireResponse } from "./fixtures/http/harness.js";

/** The runtime's own Response, kept before serve() makes FastResponse the global one (on Node). */
const RuntimeResponse = globalThis.Response;

async function served(handler: FetchHandler, request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n", head = false): Promise<WireResponse> {
  const server = await startServer(handler);
  try {
    const [response] = await exchange(server.port, request, { head });
    assert.ok(response, "an answer");
    return response;
  } finally {
    await stopServer(server);
  }
}

describe("FastResponse", { timeout: 60_000 }, () => {
  it("is a Response to the handler's code: instanceof, getters, body methods, clone", async () => {
    const response = new FastResponse("héllo", { status: 201, statusText: "Made", headers: { "x-a": "1" } });
    assert.ok(response instanceof Response);
    assert.equal(response.status, 201);
    assert.equal(response.statusText, "Made");
    assert.equal(response.ok, true);
    assert.equal(response.headers.get("x-a"), "1");
    assert.equal(response.headers.get("content-type"), "text/plain;charset=UTF-8");
    assert.equal(response.bodyUsed, false);
    const copy = response.clone();
    assert.equal(await copy.text(), "héllo");
    assert.equal(await response.text(), "héllo");
    assert.equal(response.bodyUsed, true);
    await assert.rejects(response.text(), TypeError);
    assert.equal(await new FastResponse(new Uint8Array([1, 2, 3])).arrayBuffer().then((b) => b.byteLength), 3);
    assert.deepEqual(await new FastResponse(JSON.stringify({ a: 1 })).json(), { a: 1 });
  });

  it("refuses what the runtime's Response refuses", () => {
    assert.throws(() => new FastResponse("x", { status: 99 }), RangeError);
    assert.throws(() => new FastResponse("x", { status: 204 }), TypeError);
    assert.throws(() => new FastResponse("x", { status: 304 }), TypeError);
  });

  for (const [name, make] of [
    ["an ASCII string", () => "Hello, world!"],
    ["a non-ASCII string", () => "grüße, 世界 🌍"],
    ["bytes", () => new Uint8Array([0, 1, 2, 255])],
    ["an ArrayBuffer", () => new Uint8Array([9, 8, 7]).buffer],
    ["100 KiB of bytes (written apart from the head)", () => new Uint8Array(100 * 1024).fill(97)],
    ["a stream (the runtime's Response is written)", () => new Blob(["from a blob"]).stream()],
  ] as Array<[string, () => BodyInit]>) {
    it(`writes ${name} exactly as the runtime's Response would`, async () => {
      const init = { status: 202, headers: { "x-kind": name } };
      const fast = await served(() => new FastResponse(make(), init));
      const native = await served(() => new RuntimeResponse(make(), init));
      assert.equal(fast.status, 202);
      assert.deepEqual(fast.body, native.body);
      assert.equal(header(fast, "x-kind"), name);
      assert.equal(header(fast, "content-type"), header(native, "content-type"));
      if (fast.framing === "length") assert.equal(Number(header(fast, "content-length")), fast.body.length);
    });
  }

  it("answers HEAD with the length and no body, and 204 with neither", async () => {
    const headResponse = await served(() => new FastResponse("twelve bytes"), "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", true);
    assert.equal(header(headResponse, "content-length"), "12");
    assert.equal(headResponse.body.length, 0);
    const empty = await served(() => new FastResponse(null, { status: 204 }));
    assert.equal(empty.status, 204);
    assert.equal(header(empty, "content-length"), undefined);
  });

  it("keeps Set-Cookie fields apart and a declared Content-Length that matches", async () => {
    const headers = new Headers([
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["content-length", "2"],
    ]);
    const response = await served(() => new FastResponse("ok", { headers }));
    assert.equal(response.headers.get("set-cookie")?.length, 2);
    assert.equal(header(response, "content-length"), "2");
  });

  it("answers 500 for a declared Content-Length that does not match the body", async () => {
    const response = await served(() => new FastResponse("four", { headers: { "content-length": "9" } }));
    assert.equal(response.status, 500);
  });

  it("honours Connection: close from the handler and closes after the response", async () => {
    const response = await served(() => new FastResponse("bye", { headers: { connection: "close" } }));
    assert.equal(header(response, "connection"), "close");
    assert.equal(response.body.toString(), "bye");
  });

  it("writes the field lines added without its Headers, and the changes made through its Headers once asked for", async () => {
    let lines: Array<string | null> = [];
    const response = await served(() => {
      const fast = new FastResponse("body", { headers: { "x-a": "1" } });
      // Middleware's way (CORS, the app's log): no Headers is made for these.
      FastResponse.appendHeader(fast, "X-B", " 2 ");
      assert.throws(() => FastResponse.appendHeader(fast, "bad name", "x"), TypeError);
      lines = [FastResponse.headerOf(fast, "x-a"), FastResponse.headerOf(fast, "x-b"), FastResponse.headerOf(fast, "x-none")];
      // The Headers then made has those lines, and what is changed through it is what goes out.
      assert.equal(fast.headers.get("x-b"), "2");
      fast.headers.set("x-c", "3");
      fast.headers.delete("x-a");
      FastResponse.appendHeader(fast, "x-d", "4");
      assert.equal(FastResponse.headerOf(fast, "x-c"), "3");
      return fast;
    });
    assert.deepEqual(lines, ["1", "2", null]);
    assert.equal(header(response, "x-a"), undefined);
    assert.equal(header(response, "x-b"), "2");
    assert.equal(header(response, "x-c"), "3");
    assert.equal(header(response, "x-d"), "4");
    assert.equal(header(response, "content-type"), "text/plain;charset=UTF-8");
    assert.equal(response.body.toString(), "body");
  });

  it("writes headers changed by the handler after the runtime's Response was built", async () => {
    const response = await served(() => {
      const fast = new FastResponse("body");
      void fast.body; // builds the runtime's Response
      fast.headers.set("x-late", "yes");
      return fast;
    });
    assert.equal(header(response, "x-late"), "yes");
    assert.equal(response.body.toString(), "body");
  });

  it("is the global Response on Node once serve() ran: handlers' new Response() and Response.json() get it", async () => {
    const json = await served(() => Response.json({ a: [1, "é"] }, { status: 201, headers: { "x-a": "1" } }));
    assert.equal(globalThis.Response, FastResponse);
    assert.ok(new Response("x") instanceof FastResponse);
    assert.equal(json.status, 201);
    assert.equal(header(json, "content-type"), "application/json");
    assert.equal(header(json, "x-a"), "1");
    assert.deepEqual(JSON.parse(json.body.toString("utf8")), { a: [1, "é"] });
    assert.equal(
      Response.json(1, { headers: { "content-type": "application/x-thing" } }).headers.get("content-type"),
      "application/x-thing",
    );
    assert.throws(() => Response.json(undefined), TypeError);
    // The runtime's own Responses still count as Responses, and the static methods still work.
    assert.ok(new RuntimeResponse("x") instanceof Response);
    assert.ok(Response.error() instanceof Response);
    assert.equal(Response.redirect("http://example.test/", 302).status, 302);
    const viaPrototype = Response.prototype.text.call(new RuntimeResponse("plain"));
    assert.equal(await viaPrototype, "plain");
  });

  it("is taken by WebAssembly's streaming compilation once it is the global Response", async () => {
    await served(() => new Response("made global"));
    assert.equal(globalThis.Response, FastResponse);
    const wasm = () => new Response(EMPTY_WASM_MODULE, { headers: { "content-type": "application/wasm" } });
    assert.ok(wasm() instanceof FastResponse);
    assert.ok((await WebAssembly.compileStreaming(wasm())) instanceof WebAssembly.Module);
    const { instance } = await WebAssembly.instantiateStreaming(Promise.resolve(wasm()), {});
    assert.ok(instance instanceof WebAssembly.Instance);
  });
});

/** The smallest valid WebAssembly module: the magic number and version 1, no sections. */
const EMPTY_WASM_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
