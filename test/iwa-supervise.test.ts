/**
 * Supervision of the app inside Chromium (launcher/supervise.ts, what `browser-httpd start` runs): a crashed app
 * page serves again on the same port, without restarting the browser, and the crash and the restart are logged;
 * a page whose DevTools session is gone comes back in a new window; after 5 crashes within a minute it is left
 * down with a message. The renderer is crashed with DevTools' Page.crash, as a real crash would end it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { CdpConnection } from "../launcher/cdp.js";
import { portAnswers } from "../launcher/start-iwa.js";
import { type Restart, supervise, type Supervision } from "../launcher/supervise.js";
import { curl, launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Crashes the renderer of the page attached as `sessionId`; resolves once Chromium reported the crash. */
async function crashPage(cdp: CdpConnection, targetId: string, sessionId: string): Promise<void> {
  const crashed = new Promise<void>((resolve) => {
    const off = cdp.on("Target.targetCrashed", (params) => {
      if (params.targetId !== targetId) return;
      off();
      resolve();
    });
  });
  // Chromium answers Page.crash with an error ("Target crashed"), or not at all.
  void cdp.send("Page.crash", {}, sessionId).catch(() => undefined);
  await crashed;
}

/** Polls until curl gets the app's /hello answer on `port`, for at most `timeoutMs`. */
async function helloWithin(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await portAnswers(port, 500)) {
      const hello = await curl([`http://127.0.0.1:${port}/hello`], 10_000);
      if (hello.status === 0) return hello.stdout.toString();
    }
    if (Date.now() > deadline) throw new Error(`port ${port} did not answer again within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

/** Waits (bounded) until `supervision` has recorded `count` restarts. */
async function restartsWithin(supervision: Supervision, count: number, timeoutMs: number): Promise<Restart[]> {
  const deadline = Date.now() + timeoutMs;
  while (supervision.restarts.length < count) {
    if (Date.now() > deadline) throw new Error(`${supervision.restarts.length} of ${count} restarts within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
  return supervision.restarts;
}

describe("supervision of the app's page", { timeout: 300_000 }, () => {
  let app: TestApp;
  let supervision: Supervision | undefined;
  const lines: string[] = [];

  before(async () => {
    app = await launchTestApp();
  });
  after(async () => {
    supervision?.stop();
    await app?.dispose();
  });

  it("loads a crashed page again in its window, serving on the same port, and logs the crash and the restart", async (t) => {
    supervision = supervise(app, { log: (line) => lines.push(line) });
    assert.equal(await helloWithin(app.port, 10_000), "Hello, world!");
    const targetBefore = app.appTargetId;

    await crashPage(app.chromium.cdp, app.appTargetId, app.appSessionId);
    const crashedAt = performance.now();
    assert.equal(await helloWithin(app.port, 60_000), "Hello, world!");
    const answeredAfter = performance.now() - crashedAt;

    const [restart] = await restartsWithin(supervision, 1, 60_000);
    assert.equal(restart!.how, "reload");
    assert.equal(app.appTargetId, targetBefore, "the same window");
    assert.match(lines.join("\n"), new RegExp(`The app's page crashed \\(crashed.*\\); loading it again to serve on port ${app.port}`));
    assert.match(
      lines.join("\n"),
      new RegExp(`The app serves again at http://127\\.0\\.0\\.1:${app.port}/ \\(restarted in its window [\\d.]+ s after the crash\\)`),
    );
    // The page that came back is the app, with its automation and a fresh server.
    const status = await app.evaluateInApp<{ state: string; url: string }>("browserHttpd.status()");
    assert.equal(status.state, "listening");
    assert.equal(status.url, app.url);
    t.diagnostic(
      `served again ${Math.round(restart!.ms)} ms after the crash (curl answered ${Math.round(answeredAfter)} ms after it was reported)`,
    );
  });

  it("launches the app in a new window when the crashed page's DevTools session is gone", async (t) => {
    assert.ok(supervision, "runs after the first case");
    const { cdp } = app.chromium;
    const oldTarget = app.appTargetId;
    // Crash it through a session of our own, after the supervisor's session was detached.
    const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId: oldTarget, flatten: true });
    await cdp.send("Target.detachFromTarget", { sessionId: app.appSessionId });
    await crashPage(cdp, oldTarget, sessionId);

    const restarts = await restartsWithin(supervision, 2, 60_000);
    assert.equal(restarts[1]!.how, "new window");
    assert.notEqual(app.appTargetId, oldTarget);
    assert.equal(await helloWithin(app.port, 10_000), "Hello, world!");
    assert.equal((await app.evaluateInApp<{ url: string }>("browserHttpd.status()")).url, app.url);
    assert.match(lines.join("\n"), /launching the app in a new window/);
    t.diagnostic(`served again ${Math.round(restarts[1]!.ms)} ms after the crash, in a new window`);
  });

  it("after 5 crashes within a minute, leaves the app down and ends with a message", async () => {
    // A supervision of its own, counting from zero: four crashes are restarted, the fifth ends it.
    supervision?.stop();
    const own = (supervision = supervise(app, { log: (line) => lines.push(line) }));
    for (let count = 1; count <= 4; count++) {
      await crashPage(app.chromium.cdp, app.appTargetId, app.appSessionId);
      await restartsWithin(own, count, 60_000);
    }
    await crashPage(app.chromium.cdp, app.appTargetId, app.appSessionId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = await Promise.race([
      own.ended,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("supervision did not end after the fifth crash")), 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(end.reason, "crash loop");
    assert.match(end.message, /the app's page crashed 5 times within 60 s \(last: crashed.*\); not restarting it again/);
    assert.equal(own.restarts.length, 4);
    await sleep(1000);
    assert.equal(await portAnswers(app.port, 1000), false, "restarted after giving up");
  });
});
