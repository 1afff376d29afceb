/**
 * The HTTP/1.1 wire cases of test/fixtures/http/wire-cases.ts against the server running INSIDE Chromium, as an
 * installed Isolated Web App on the native TCPServerSocket, with Chromium's own Request, Response and streams.
 * The same cases run on Node, Deno and Bun in test/http-wire-runtimes.test.ts.
 */
import { after, before, describe } from "node:test";
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
});
