/**
 * HTTP/2 conformance at the frame level, cases modelled on h2spec's sections (RFC 9113 and RFC 7541: preface,
 * frame format and size, HPACK, stream states and identifiers, concurrency, each frame type's rules, flow control,
 * malformed requests), driven by Python's h2, hyperframe and hpack (test/fixtures/http2/h2spec_cases.py) against
 * serve() on Node with the demo routes, as the IWA serves them (test/http2-chromium.test.ts runs the same cases
 * there). One subtest per case, failing with what the server did; afterwards a well-behaved client is served.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { createDemoApp } from "../app/demo.js";
import { serve, type Server } from "../src/index.js";
import { missingClients, pythonWithH2 } from "./fixtures/clients.js";
import { h2specCases } from "./fixtures/http2/h2spec.js";
import { h2Get } from "./fixtures/http2/client.js";

describe("h2spec-style cases from Python's h2 (h2c on serve(), Node)", { timeout: 120_000, skip: missingClients("python3-h2") }, () => {
  let server: Server;

  before(async () => {
    server = serve({ ...createDemoApp(), port: 0 });
    await server.ready();
  });
  after(async () => {
    await server?.close(true);
  });

  it("every case passes", async (t) => {
    await h2specCases(t, pythonWithH2()!, server.port);
  });

  it("afterwards a well-behaved client (Node's http2.connect) is served", async () => {
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    try {
      const { status, body } = await h2Get(session, "/hello");
      assert.equal(status, 200);
      assert.equal(body, "Hello, world!");
    } finally {
      session.close();
    }
  });
});
