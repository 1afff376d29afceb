/**
 * `browser-httpd start ./app.ts` and `start --static DIR` inside Chromium: the launcher (the same launch() the CLI
 * runs) bundles a user's module, with the npm package it imports from its own node_modules and examples/app.ts
 * whose routes it extends, into the IWA in place of the demo; its HTTP and WebSocket routes answer curl and `ws`,
 * the panel stays around it. Then a folder's files, put into the bundle, served with serveStatic; and a module that
 * loads on Node but throws in the browser, reported by the app at once.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { type Project, writeProject } from "./fixtures/app-module/project.js";
import { curl, launchTestApp, openForeignPage, type TestApp } from "./fixtures/iwa/harness.js";

const staticSite = fileURLToPath(new URL("../../examples/static-site/", import.meta.url));

describe("an app module inside Chromium (start ./app.ts)", { timeout: 180_000 }, () => {
  let project: Project;
  let app: TestApp;

  before(async () => {
    project = await writeProject();
    app = await launchTestApp({ served: { module: project.path("app.ts") } });
  });
  after(async () => {
    await app?.dispose();
    await project?.remove();
  });

  it("answers HTTP from the module: its routes, the npm package it imports, browser-httpd's FastResponse", async () => {
    const greeting = await curl(["--include", `${app.url}greet?name=Chromium`]);
    assert.match(greeting.stdout.toString(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nHello, Chromium, from an npm package!\n$/);
    assert.equal((await curl([`${app.url}fast`])).stdout.toString(), "true");
    assert.equal((await curl(["--data-binary", "posted in", `${app.url}echo`])).stdout.toString(), "posted in");
    assert.match((await curl([`${app.url}`])).stdout.toString(), /Hello from an app module/);
    assert.equal((await curl(["--output", "/dev/null", "--write-out", "%{http_code}", `${app.url}nothing`])).stdout.toString(), "404");
  });

  it("answers a WebSocket with the module's websocket handlers", async () => {
    const socket = new WebSocket(`${app.url.replace("http", "ws")}ws`);
    try {
      await once(socket, "open");
      socket.send("echo from Chromium");
      const [message] = (await once(socket, "message")) as [Buffer];
      assert.equal(message.toString(), "echo from Chromium");
    } finally {
      socket.close();
    }
  });

  it("the module's onError answers a throw, and the panel lists the error and names the module", async () => {
    const boom = await curl(["--include", `${app.url}boom`]);
    assert.match(boom.stdout.toString(), /^HTTP\/1\.1 503 [\s\S]*\r\n\r\nonError: boom\n$/);
    assert.equal(await app.evaluateInApp<string>("document.getElementById('served').textContent"), project.path("app.ts"));
    const status = await app.evaluateInApp<{ stats: Record<string, number> }>("browserHttpd.status()");
    assert.ok(status.stats.errorsTotal! >= 1, "the panel counted the handler's error");
  });
});

describe("a folder inside Chromium (start --static DIR)", { timeout: 180_000 }, () => {
  let app: TestApp;
  before(async () => {
    app = await launchTestApp({ served: { folder: staticSite } });
  });
  after(() => app?.dispose());

  it("serves the folder's files from the bundle: types, validators, ranges, listings, 404", async () => {
    const page = await curl(["--include", app.url]);
    assert.match(
      page.stdout.toString(),
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/html; charset=utf-8\r\n[\s\S]*A static site on browser-httpd/,
    );
    const css = await curl(["--include", `${app.url}css/site.css`]);
    const etag = /^etag: (.*)\r$/m.exec(css.stdout.toString())?.[1];
    assert.match(css.stdout.toString(), /content-type: text\/css; charset=utf-8\r\n/);
    assert.ok(etag?.startsWith('W/"'), `a weak ETag: ${etag}`);
    const notModified = await curl(["--include", "--header", `If-None-Match: ${etag}`, `${app.url}css/site.css`]);
    assert.match(notModified.stdout.toString(), /^HTTP\/1\.1 304 /);
    const range = await curl(["--include", "--range", "0-4", `${app.url}notes/hello.txt`]);
    assert.match(range.stdout.toString(), /^HTTP\/1\.1 206 [\s\S]*content-range: bytes 0-4\/\d+\r\n/);
    assert.match((await curl([`${app.url}notes/`])).stdout.toString(), /<a href="hello\.txt">hello\.txt<\/a>/);
    assert.equal((await curl(["--output", "/dev/null", "--write-out", "%{http_code}", `${app.url}missing`])).stdout.toString(), "404");
  });

  it("serves a <video> that plays and seeks in Chromium, through Range requests", async () => {
    const page = await openForeignPage(app);
    try {
      const seen = await page.evaluate<{ played: number; seekedTo: number }>(`(async () => {
        const video = document.createElement("video");
        video.muted = true;
        video.src = ${JSON.stringify(`${app.url}media/clip.webm`)};
        document.body.append(video);
        await new Promise((resolve, reject) => {
          video.onloadedmetadata = resolve;
          video.onerror = () => reject(new Error("the video failed: " + video.error?.message));
        });
        await video.play();
        // Playing: the clock moves on (polled; the test's timeout bounds it).
        await new Promise((resolve) => {
          const check = () => (video.currentTime > 0.2 ? resolve() : setTimeout(check, 50));
          check();
        });
        const played = video.currentTime;
        video.currentTime = 3;
        await new Promise((resolve) => (video.onseeked = resolve));
        return { played, seekedTo: video.currentTime };
      })()`);
      assert.ok(seen.played > 0.2, `it played: currentTime ${seen.played}`);
      assert.ok(Math.abs(seen.seekedTo - 3) < 0.1, `it seeked to 3 s: ${seen.seekedTo}`);
      const requests = await app.evaluateInApp<Array<{ target: string; status: number }>>("browserHttpd.requests()");
      assert.ok(
        requests.some((request) => request.target === "/media/clip.webm" && request.status === 206),
        `a Range request answered 206: ${JSON.stringify(requests.filter((request) => request.target.startsWith("/media/")))}`,
      );
    } finally {
      await page.close();
    }
  });
});

describe("a module that loads on Node but throws in the browser", { timeout: 180_000 }, () => {
  let project: Project;
  before(async () => {
    project = await writeProject({
      "env.ts": "const port = Number(process.env.PORT);\nexport default { fetch: () => new Response(String(port)) };\n",
    });
  });
  after(() => project?.remove());

  it("is reported by the app as soon as it loads, with the file", async () => {
    const started = Date.now();
    await assert.rejects(
      launchTestApp({ served: { module: project.path("env.ts") } }),
      /the app window opened, but its server did not start: .*env\.ts: threw while loading: ReferenceError: process is not defined/,
    );
    assert.ok(Date.now() - started < 25_000, "reported before the launcher's 30 s wait ran out");
  });
});
