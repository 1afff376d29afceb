/**
 * The raw-frame RFC 6455 / RFC 7692 conformance cases (fixtures/websocket/protocol-cases.ts) against the server
 * inside Chromium: the Isolated Web App on the native TCPServerSocket, serving the demo's WebSocket routes.
 */
import { after, before, describe } from "node:test";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";
import { runProtocolCases } from "./fixtures/websocket/protocol-cases.js";

describe("browser-httpd WebSocket server inside Chromium (Isolated Web App)", { timeout: 300_000 }, () => {
  let app: TestApp | undefined;
  before(async () => {
    app = await launchTestApp();
  });
  after(async () => {
    await app?.dispose();
  });

  runProtocolCases(() => ({ port: app!.port, runtime: "chromium" }));
});
