/**
 * Hostile clients against one running app inside Chromium (test/fixtures/chaos.ts): after every case the app's
 * renderer must still be alive and a well-behaved client answered. The crash this suite was written for: a
 * WebSocket client sending data after its Close frame took the whole app down (docs/chromium-direct-sockets.md).
 * The HTTP wire cases, the WebSocket protocol cases and the fuzzed traffic run inside Chromium too
 * (iwa-http-wire, iwa-websocket-protocol).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { answersHello, CHAOS_SEED, chaosCases, runChaos } from "./fixtures/chaos.js";
import { random } from "./fixtures/fuzz.js";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";

describe(`hostile clients against the server inside Chromium (seed ${CHAOS_SEED})`, { timeout: 300_000 }, () => {
  let app: TestApp;
  let crash: string | undefined;

  before(async () => {
    app = await launchTestApp();
    app.chromium.cdp.on("Target.targetCrashed", (params) => {
      if (params.targetId === app.appTargetId) crash = `the app's renderer crashed (${String(params.status)})`;
    });
    await app.chromium.cdp.send("Target.setDiscoverTargets", { discover: true });
  });
  after(async () => {
    await app?.dispose();
  });

  async function assertAlive(what: string): Promise<void> {
    assert.equal(crash, undefined, `after ${what}`);
    assert.ok(await answersHello(app.port), `GET /hello is not answered after ${what}`);
    assert.equal(crash, undefined, `after ${what}`);
  }

  chaosCases.forEach((chaosCase, index) => {
    it(chaosCase.name, async () => {
      for (let run = 0; run < 3; run++) await chaosCase.run(app.port, random(CHAOS_SEED + 1000 * index + run));
      await assertAlive(chaosCase.name);
    });
  });

  it("every case 3 times more, shuffled, 4 at a time", async () => {
    await runChaos(app.port, 3, 4);
    await assertAlive("the mixed run");
  });
});
