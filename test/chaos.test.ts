/**
 * The hostile clients of test/fixtures/chaos.ts against the demo app served by browser-httpd on Node: after
 * every case a well-behaved client is still answered. The same cases run inside Chromium in iwa-chaos.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDemoApp } from "../app/demo.js";
import { serve, type Server } from "../src/server/serve.js";
import { answersHello, CHAOS_SEED, chaosCases, runChaos } from "./fixtures/chaos.js";
import { random } from "./fixtures/fuzz.js";
import { stopServer } from "./fixtures/http/harness.js";

describe(`hostile clients against the server on Node (seed ${CHAOS_SEED})`, { timeout: 300_000 }, () => {
  let server: Server | undefined;
  let port = 0;

  before(async () => {
    server = serve({ ...createDemoApp(), port: 0, hostname: "127.0.0.1" });
    await server.ready();
    port = server.port;
  });
  after(async () => {
    await stopServer(server);
  });

  chaosCases.forEach((chaosCase, index) => {
    it(chaosCase.name, async () => {
      for (let run = 0; run < 3; run++) await chaosCase.run(port, random(CHAOS_SEED + 1000 * index + run));
      assert.ok(await answersHello(port), `GET /hello is not answered after ${chaosCase.name}`);
    });
  });

  it("every case 3 times more, shuffled, 4 at a time", async () => {
    await runChaos(port, 3, 4);
    assert.ok(await answersHello(port), "GET /hello is not answered after the mixed run");
  });
});
