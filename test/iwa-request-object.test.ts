/**
 * The request object inside Chromium, seen by an app module (test/fixtures/http/request-object-app.ts) served by the
 * IWA: a Request to every check (instanceof, getters, clone(), `new Request(request)`, the Cache API, fetch()) though
 * its native Request is built only when one of those needs it, and a signal that aborts when the client closes or
 * resets the connection before the response, and stays quiet for a request answered before the client left. (The
 * same on Node, Deno and Bun: test/http-request-object.test.ts.)
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";

const appModule = fileURLToPath(new URL("./fixtures/http/request-object-app.js", import.meta.url));

describe("the request object inside Chromium", { timeout: 180_000 }, () => {
  let app: TestApp;
  const state = async (id: string): Promise<{ state: string; reason?: string }> =>
    (await fetch(`http://127.0.0.1:${app.port}/state?id=${id}`)).json() as Promise<{ state: string; reason?: string }>;

  /** Polls the state of request `id` until it is `wanted` (10 s at most). */
  async function until(id: string, wanted: string): Promise<{ state: string; reason?: string }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const current = await state(id);
      if (current.state === wanted || Date.now() > deadline) return current;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function send(path: string): Promise<Socket> {
    const socket = connect({ host: "127.0.0.1", port: app.port });
    await once(socket, "connect");
    socket.on("error", () => {});
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    return socket;
  }

  before(async () => {
    app = await launchTestApp({ served: { module: appModule } });
  });
  after(async () => {
    await app?.dispose();
  });

  it("aborts when the client closes its side before the response", async () => {
    const socket = await send("/wait?id=fin");
    assert.equal((await until("fin", "waiting")).state, "waiting");
    socket.end();
    assert.equal((await until("fin", "aborted")).state, "aborted");
    socket.destroy();
  });

  it("aborts when the client resets the connection before the response", async () => {
    const socket = await send("/wait?id=reset");
    assert.equal((await until("reset", "waiting")).state, "waiting");
    socket.resetAndDestroy();
    assert.equal((await until("reset", "aborted")).state, "aborted");
  });

  it("does not abort once the response was complete", async () => {
    const socket = await send("/quick?id=done");
    await once(socket, "data");
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await state("done")).state, "answered");
  });

  it("is a Request to instanceof, its getters, clone() and new Request(), with every header and its body", async () => {
    const response = await fetch(`http://127.0.0.1:${app.port}/inspect?q=1`, {
      method: "POST",
      body: "the body",
      headers: { "x-test": "yes" },
    });
    const seen = (await response.json()) as Record<string, unknown>;
    assert.deepEqual(seen, {
      instance: true,
      tag: "[object Request]",
      method: "POST",
      url: `http://127.0.0.1:${app.port}/inspect?q=1`,
      host: `127.0.0.1:${app.port}`,
      test: "yes",
      differingGetters: [],
      clone: { instance: true, method: "POST", test: "yes", body: "the body" },
      copy: { instance: true, method: "POST", url: `http://127.0.0.1:${app.port}/inspect?q=1`, test: "yes", body: "the body" },
      usedAfterCopy: true,
    });
  });

  it("is taken by the Cache API as the request it is", async () => {
    const seen = (await (await fetch(`http://127.0.0.1:${app.port}/cache?k=v`)).json()) as Record<string, unknown>;
    assert.deepEqual(seen, { hit: "cached", keys: [`http://127.0.0.1:${app.port}/cache?k=v`] });
  });

  it("the global Response (serve()'s FastResponse) is taken by WebAssembly's streaming compilation", async () => {
    const seen = (await (await fetch(`http://127.0.0.1:${app.port}/wasm`)).json()) as { outcome: string };
    assert.equal(seen.outcome, "compiled");
  });

  it("is taken by fetch() as the request it is, not as a string", async () => {
    const seen = (await (await fetch(`http://127.0.0.1:${app.port}/fetch`)).json()) as { outcome: string; url?: string };
    // The page may not fetch plain HTTP (its CSP refuses it: TypeError); were it allowed, the URL would be the request's.
    if (seen.outcome === "response") assert.equal(seen.url, `http://127.0.0.1:${app.port}/fetch`);
    else assert.equal(seen.outcome, "TypeError");
  });
});
