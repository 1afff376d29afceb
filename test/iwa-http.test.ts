/**
 * The server running INSIDE Chromium, as an installed Isolated Web App on its native TCPServerSocket, tested
 * from outside with curl and raw sockets; plus its window (screenshot) and its in-browser bundle builder.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { launchApp } from "../launcher/iwa.js";
import { freePort } from "./fixtures/iwa/free-port.js";
import { curl, launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";
import { decodePng } from "./fixtures/iwa/png.js";

/** The app's port, free when the suite started. */
let port: number;
const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

function pattern(length: number, from = 0): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (from + i) % 251;
  return bytes;
}

/** Sends one raw request on each of `count` connections that are all open at the same time. */
async function concurrentRequests(count: number): Promise<string[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof connect>>((resolve, reject) => {
          const socket = connect({ host: "127.0.0.1", port }, () => resolve(socket));
          socket.once("error", reject);
        }),
    ),
  );
  try {
    return await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<string>((resolve, reject) => {
            const chunks: Buffer[] = [];
            socket.on("data", (chunk: Buffer) => chunks.push(chunk));
            socket.once("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
            socket.once("error", reject);
            socket.write(`GET /hello HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
          }),
      ),
    );
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

describe("the server inside Chromium (IWA)", { timeout: 240_000 }, () => {
  let app: TestApp;
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "browser-httpd-iwa-http-"));
    app = await launchTestApp();
    port = app.port;
  });
  after(async () => {
    await app?.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  it("listens where it says, on the port it was given", () => {
    assert.equal(app.url, `http://127.0.0.1:${app.requestedPort}/`);
    assert.equal(app.installMode, "dev-proxy");
    assert.match(app.appOrigin, /^isolated-app:\/\/[a-z2-7]{56}$/);
  });

  it("answers GET /hello", async () => {
    const result = await curl(["--include", `${app.url}hello`]);
    assert.equal(result.status, 0, result.stderr);
    const text = result.stdout.toString();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\n\r\nHello, world!$/);
  });

  it("echoes a POST body byte for byte", async () => {
    const body = randomBytes(1024 * 1024);
    const file = join(scratch, "echo.bin");
    await writeFile(file, body);
    const result = await curl(["--data-binary", `@${file}`, "-H", "content-type: application/octet-stream", `${app.url}echo`]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.length, body.length);
    assert.ok(result.stdout.equals(body), "echoed bytes differ");
  });

  it("takes a chunked upload and reports its size and SHA-256", async () => {
    const body = randomBytes(5 * 1024 * 1024 + 17);
    const file = join(scratch, "upload.bin");
    await writeFile(file, body);
    const result = await curl(["-H", "transfer-encoding: chunked", "--data-binary", `@${file}`, `${app.url}upload`]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.toString()), {
      bytes: body.length,
      sha256: createHash("sha256").update(body).digest("hex"),
    });
  });

  it("sends a chunked download intact", async () => {
    const length = 3 * 1024 * 1024 + 5;
    const result = await curl(["--include", `${app.url}download?bytes=${length}&chunked=1`]);
    assert.equal(result.status, 0, result.stderr);
    const split = result.stdout.indexOf("\r\n\r\n");
    const head = result.stdout.subarray(0, split).toString("latin1");
    assert.match(head, /^transfer-encoding: chunked$/im);
    assert.doesNotMatch(head, /^content-length:/im);
    const body = result.stdout.subarray(split + 4);
    assert.equal(body.length, length);
    assert.ok(body.equals(pattern(length)), "download bytes differ from the i % 251 pattern");
  });

  it("serves 100 connections open at the same time", async () => {
    const before = await app.evaluateInApp<{ stats: { connectionsTotal: number } }>("browserHttpd.status()");
    const responses = await concurrentRequests(100);
    assert.equal(responses.length, 100);
    for (const response of responses) {
      assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(response, /\r\n\r\nHello, world!$/);
    }
    // The panel's figures come from the server; give its poll a moment, then they include all 100.
    let total = 0;
    for (let attempt = 0; attempt < 50 && total < before.stats.connectionsTotal + 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      total = (await app.evaluateInApp<{ stats: { connectionsTotal: number } }>("browserHttpd.status()")).stats.connectionsTotal;
    }
    assert.ok(total >= before.stats.connectionsTotal + 100, `panel counted ${total} connections`);
  });

  it("shows the listening address in its window (DOM and screenshot)", async () => {
    const shown = await app.evaluateInApp<{ address: string; state: string }>(
      "({ address: document.getElementById('address').textContent, state: document.getElementById('state').textContent })",
    );
    assert.deepEqual(shown, { address: app.url, state: "listening" });
    const { data } = await app.chromium.cdp.send<{ data: string }>("Page.captureScreenshot", { format: "png" }, app.appSessionId);
    const png = Buffer.from(data, "base64");
    await writeFile(join(tmpdir(), "browser-httpd-iwa-window.png"), png);
    const decoded = decodePng(png);
    assert.ok(decoded.width >= 400 && decoded.height >= 300, `screenshot is ${decoded.width}x${decoded.height}`);
    assert.ok(decoded.distinctSampleValues > 3, "screenshot looks blank");
  });

  it("stops from its panel, restarts on another port, and remembers that port", async () => {
    const otherPort = await freePort();
    const settled = () => app.evaluateInApp<{ state: string; url?: string }>("browserHttpd.settled()");
    await app.evaluateInApp("document.getElementById('stop').click()");
    assert.equal((await settled()).state, "stopped");
    assert.equal((await curl([`${app.url}hello`], 5000)).status, 7, "the stopped server still answers");

    await app.evaluateInApp(`(() => {
      document.getElementById('port').value = '${otherPort}';
      document.getElementById('start').click();
    })()`);
    const restarted = await settled();
    assert.equal(restarted.state, "listening");
    assert.equal(restarted.url, `http://127.0.0.1:${otherPort}/`);
    assert.equal((await curl([`http://127.0.0.1:${otherPort}/hello`])).stdout.toString(), "Hello, world!");

    // Opened again without ?port=, the app takes the port chosen in its panel.
    await app.chromium.cdp.send("Page.navigate", { url: `${app.appOrigin}/` }, app.appSessionId);
    let status: { state: string; url?: string } | null = null;
    for (let attempt = 0; attempt < 100 && status?.state !== "listening"; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await app
        .evaluateInApp<{ state: string; url?: string } | null>("typeof browserHttpd === 'object' ? browserHttpd.settled() : null")
        .catch(() => null);
    }
    assert.equal(status?.url, `http://127.0.0.1:${otherPort}/`);
    assert.equal((await curl([`http://127.0.0.1:${otherPort}/hello`])).stdout.toString(), "Hello, world!");
  });

  it("builds a signed bundle in its builder page that `browser-httpd verify` accepts", async () => {
    const builder = await launchApp(app.chromium.cdp, app.app, "/builder/builder.html");
    const evaluate = <T>(expression: string) =>
      app.chromium.cdp
        .send<{ result?: { value?: T }; exceptionDetails?: { exception?: { description?: string } } }>(
          "Runtime.evaluate",
          { expression, awaitPromise: true, returnByValue: true },
          builder.sessionId,
        )
        .then((reply) => {
          if (reply.exceptionDetails) throw new Error(reply.exceptionDetails.exception?.description ?? "evaluation failed");
          return reply.result?.value as T;
        });
    try {
      for (let attempt = 0; attempt < 100; attempt++) {
        if (await evaluate<boolean>("typeof buildBundleFromFiles === 'function'").catch(() => false)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const manifest = {
        name: "Built in the browser",
        version: "1.2.3",
        start_url: "/",
        scope: "/",
        display: "standalone",
        icons: [{ src: "/icon.svg", sizes: "256x256", type: "image/svg+xml" }],
        permissions_policy: { "cross-origin-isolated": ["self"] },
      };
      const base64 = await evaluate<string>(`(async () => {
        const bytes = await buildBundleFromFiles([
          { path: "index.html", body: "<!doctype html><title>hi</title><p>hi</p>" },
          { path: "icon.svg", body: '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"/>' },
          { path: ".well-known/manifest.webmanifest", body: ${JSON.stringify(JSON.stringify(manifest))} },
        ]);
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(binary);
      })()`);
      const file = join(scratch, "from-the-browser.swbn");
      await writeFile(file, Buffer.from(base64, "base64"));
      const verified = await new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile(process.execPath, [cli, "verify", file, "--list"], { timeout: 30_000 }, (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, output: stdout + stderr }),
        );
      });
      assert.equal(verified.code, 0, verified.output);
      assert.match(verified.output, /index\.html/);
    } finally {
      await app.chromium.cdp.send("Target.closeTarget", { targetId: builder.targetId }).catch(() => undefined);
    }
  });
});
