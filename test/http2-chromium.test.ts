/**
 * HTTP/2 from the server inside Chromium (the IWA on Direct Sockets, the demo app): h2c with prior knowledge from
 * curl, h2load and Node's http2 on the same port as HTTP/1.1, the h2spec-style frame cases of Python's h2 (as
 * test/http2-h2spec.test.ts runs them on Node), and a Rapid Reset attacker refused while a well-behaved session is
 * served. (Browsers speak HTTP/2 only over TLS: Chromium's own fetch with h2 needs `h2` by
 * ALPN through the TLS wrapper.)
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCode } from "../src/http2/errors.js";
import { FrameType, headerFrames, parseFrameHeader, PREFACE, rstStreamFrame, settingsFrame } from "../src/http2/frames.js";
import { HpackEncoder } from "../src/http2/hpack.js";
import { missingClients, pythonWithH2 } from "./fixtures/clients.js";
import { h2specCases } from "./fixtures/http2/h2spec.js";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";
import { h2Get } from "./fixtures/http2/client.js";

const has = (command: string) => spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;

function run(command: string, args: string[]): Promise<{ status: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 120_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout: Buffer.concat(out), stderr });
    });
  });
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("HTTP/2 (h2c) from the server inside Chromium", { timeout: 300_000, skip: !has("curl") }, () => {
  let app: TestApp;
  let base: string;
  let dir: string;

  before(async () => {
    app = await launchTestApp();
    base = `http://127.0.0.1:${app.port}`;
    dir = mkdtempSync(join(tmpdir(), "browser-httpd-h2-iwa-"));
  });
  after(async () => {
    await app?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("curl --http2-prior-knowledge: GET /hello over HTTP/2, and HTTP/1.1 on the same port", async () => {
    const h2 = await run("curl", ["-sS", "--http2-prior-knowledge", "-w", "\\n%{http_version}", `${base}/hello`]);
    assert.equal(h2.status, 0, h2.stderr);
    assert.match(h2.stdout.toString(), /\n2$/);
    const h1 = await run("curl", ["-sS", "--http1.1", "-w", "\\n%{http_version}", `${base}/hello`]);
    assert.equal(h1.stdout.toString().replace(/\n1\.1$/, ""), h2.stdout.toString().replace(/\n2$/, ""));
  });

  it("curl --http2-prior-knowledge: POST /echo of 4 MiB streams back intact", async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const file = join(dir, "body.bin");
    writeFileSync(file, body);
    const echo = await run("curl", ["-sS", "--http2-prior-knowledge", "--data-binary", `@${file}`, `${base}/echo`]);
    assert.equal(echo.status, 0, echo.stderr);
    assert.equal(sha(echo.stdout), sha(body));
  });

  it("h2load -n 2000 -c 4 -m 10: every request succeeds", { skip: !has("h2load") }, async () => {
    const result = await run("h2load", ["-n", "2000", "-c", "4", "-m", "10", `${base}/hello`]);
    assert.match(result.stdout.toString(), /2000 succeeded, 0 failed, 0 errored, 0 timeout/);
  });

  it("h2spec-style frame cases from Python's h2: every case passes, then Node's http2 is served", {
    skip: missingClients("python3-h2"),
  }, async (t) => {
    await h2specCases(t, pythonWithH2()!, app.port);
    const session = http2.connect(base);
    try {
      assert.deepEqual(await h2Get(session, "/hello"), { status: 200, body: "Hello, world!" });
    } finally {
      session.close();
    }
  });

  it("Rapid Reset against the IWA: GOAWAY ENHANCE_YOUR_CALM, while a Node http2 session is served", async () => {
    const session = http2.connect(base);
    try {
      assert.equal((await h2Get(session, "/hello")).status, 200);
      const socket = net.connect(app.port, "127.0.0.1");
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      let received = Buffer.alloc(0);
      let goawayCode: number | undefined;
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        while (received.length >= 9) {
          const header = parseFrameHeader(received);
          if (received.length < 9 + header.length) break;
          if (header.type === FrameType.GOAWAY) {
            goawayCode = received.readUInt32BE(13);
            socket.end();
          }
          received = received.subarray(9 + header.length);
        }
      });
      const closed = new Promise((resolve) => socket.on("close", resolve));
      socket.on("error", () => {});
      socket.write(Buffer.concat([PREFACE, settingsFrame([])]));
      const encoder = new HpackEncoder();
      for (let i = 0; i < 1000 && !socket.destroyed && goawayCode === undefined; i++) {
        const id = 1 + 2 * i;
        socket.write(
          Buffer.concat([
            headerFrames(
              id,
              encoder.encode([
                [":method", "GET"],
                [":scheme", "http"],
                [":path", "/hello"],
                [":authority", "x"],
              ]),
              true,
              16384,
            ),
            rstStreamFrame(id, ErrorCode.CANCEL),
          ]),
        );
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await closed;
      assert.equal(goawayCode, ErrorCode.ENHANCE_YOUR_CALM);
      // The session opened before the attack is served still, unless the demo's idleTimeout (5 s) closed it meanwhile.
      const after = session.closed || session.destroyed ? http2.connect(base) : session;
      try {
        assert.equal((await h2Get(after, "/hello")).status, 200);
      } finally {
        if (after !== session) after.close();
      }
    } finally {
      session.close();
    }
  });
});
