/**
 * The HTTP/1.1 wire cases of test/fixtures/http/wire-cases.ts against the server running INSIDE Chromium, as an
 * installed Isolated Web App on the native TCPServerSocket, with Chromium's own Request, Response and streams.
 * The same cases run on Node, Deno and Bun in test/http-wire-runtimes.test.ts; the fuzzed traffic of
 * test/fixtures/fuzz.ts (also run on Node by test/fuzz.test.ts) comes last.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fuzzHttpTraffic, fuzzWebSocketTraffic } from "./fixtures/fuzz.js";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";
import { registerWireCases } from "./fixtures/http/wire-cases.js";

describe("HTTP/1.1 on the wire: the demo app inside Chromium (IWA)", { timeout: 240_000 }, () => {
  let app: TestApp | undefined;

  before(async () => {
    app = await launchTestApp();
  });
  after(async () => {
    await app?.dispose();
  });

  registerWireCases("chromium", () => app!.port);

  it("fuzz: 600 connections of mutated requests and 300 of mutated WebSocket frames, then it still serves", async () => {
    await fuzzHttpTraffic(app!.port);
    await fuzzWebSocketTraffic(app!.port);
    const hello = await fetch(`http://127.0.0.1:${app!.port}/hello`);
    assert.equal(await hello.text(), "Hello, world!");
  });
});
