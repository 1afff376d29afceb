/**
 * A folder picked in the app's window, served from inside Chromium: the test stands in for the user's choice in the
 * browser's picker (a folder of the origin-private file system, with files the test writes), clicks the panel's
 * button, and asks the server; then the app restarts (page reload) and serves the remembered folder again; then
 * "Serve the app again" brings the demo back.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { curl, launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";

/** Resolves once `expression` (evaluated in the app) is truthy; 15 s at most. */
async function until(app: TestApp, expression: string, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (await app.evaluateInApp<boolean>(expression).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Reloads the app's page and waits for the new page's server: the old page answers until it is gone. */
async function reloadApp(app: TestApp): Promise<void> {
  await app.evaluateInApp(`globalThis.beforeReload = true, location.reload(), true`);
  await until(
    app,
    `!globalThis.beforeReload && document.readyState === "complete" && globalThis.browserHttpd?.status().state === "listening"`,
    "the reloaded app to listen",
  );
}

describe("a folder picked in the app window", { timeout: 180_000 }, () => {
  let app: TestApp;
  const get = async (path: string) => {
    const result = await curl(["-s", "-w", "\n%{http_code}", `http://127.0.0.1:${app.port}${path}`]);
    const text = result.stdout.toString();
    const cut = text.lastIndexOf("\n");
    return { status: Number(text.slice(cut + 1)), body: text.slice(0, cut) };
  };

  before(async () => {
    app = await launchTestApp();
    // The user's choice in the picker: a folder "site" of the origin-private file system.
    await app.evaluateInApp(`(async () => {
      const root = await navigator.storage.getDirectory();
      const site = await root.getDirectoryHandle("site", { create: true });
      const write = async (directory, name, text) => {
        const writable = await (await directory.getFileHandle(name, { create: true })).createWritable();
        await writable.write(text);
        await writable.close();
      };
      await write(site, "index.html", "<h1>hello from the picked folder</h1>");
      await write(await site.getDirectoryHandle("notes", { create: true }), "a.txt", "note a");
      globalThis.showDirectoryPicker = async () => site;
      return true;
    })()`);
  });
  after(async () => {
    await app?.dispose();
  });

  it("serves the folder picked with the panel's button instead of the app", async () => {
    await app.evaluateInApp(`document.getElementById("pick-folder").click(), true`);
    await until(app, `browserHttpd.folder() === "site"`, "the folder to be served");
    assert.deepEqual(await get("/"), { status: 200, body: "<h1>hello from the picked folder</h1>" });
    assert.deepEqual(await get("/notes/a.txt"), { status: 200, body: "note a" });
    assert.equal((await get("/hello")).status, 404, "the demo's routes are not served meanwhile");
    assert.equal((await get("/notes/%2e%2e/%2e%2e/index.html")).status, 400);
  });

  it("serves the remembered folder again after the app restarts", async () => {
    await reloadApp(app);
    assert.equal(await app.evaluateInApp<string | null>(`browserHttpd.folder() ?? null`), "site");
    assert.deepEqual(await get("/notes/a.txt"), { status: 200, body: "note a" });
  });

  it("serves the app again when asked, and forgets the folder", async () => {
    await app.evaluateInApp(`document.getElementById("stop-folder").click(), true`);
    await until(app, `browserHttpd.folder() === undefined`, "the app to be served again");
    assert.deepEqual(await get("/hello"), { status: 200, body: "Hello, world!" });
    await reloadApp(app);
    assert.equal(await app.evaluateInApp<string | null>(`browserHttpd.folder() ?? null`), null);
    assert.equal((await get("/hello")).status, 200);
  });
});
