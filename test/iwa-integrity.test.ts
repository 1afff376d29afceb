/**
 * Large transfers through the server inside Chromium arrive whole and in order (issue 6: the native socket's
 * writes can be lost silently under load). Every byte of a download is checked against the i % 251 pattern as it
 * streams in; uploads are checked by byte count and SHA-256. A transfer that stalls fails on its idle timeout.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { SERVER_FIN_DEADLINE_MS } from "./fixtures/http/wire-cases.js";
import { launchTestApp, type TestApp } from "./fixtures/iwa/harness.js";

/** The app's port, free when the suite started. */
let port: number;
const MiB = 1024 * 1024;
/** A transfer with no progress for this long has lost bytes (or hung): fail rather than wait. */
const idleTimeoutMs = 20_000;

interface DownloadResult {
  bytes: number;
  headers: Record<string, string | string[] | undefined>;
  /** Offset of the first byte that broke the pattern, or -1. */
  firstMismatch: number;
}

function download(path: string): Promise<DownloadResult> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: "127.0.0.1", port, path, agent: false }, (response) => {
      let offset = 0;
      let firstMismatch = -1;
      response.on("data", (chunk: Buffer) => {
        if (firstMismatch === -1) {
          for (let i = 0; i < chunk.length; i++) {
            if (chunk[i] !== (offset + i) % 251) {
              firstMismatch = offset + i;
              break;
            }
          }
        }
        offset += chunk.length;
      });
      response.once("end", () => resolve({ bytes: offset, headers: response.headers, firstMismatch }));
      response.once("error", (error) => reject(new Error(`${path}: the connection broke after ${offset} bytes (${error.message})`)));
    });
    outgoing.setTimeout(idleTimeoutMs, () =>
      outgoing.destroy(new Error(`${path}: no data for ${idleTimeoutMs / 1000} s (bytes lost or stalled)`)),
    );
    outgoing.once("error", reject);
    outgoing.end();
  });
}

interface ClosingDownload {
  head: string;
  bodyBytes: number;
  /** Offset of the first body byte that broke the pattern, or -1. */
  firstMismatch: number;
  /** Milliseconds from the last byte to the server's FIN. */
  finAfterLastByteMs: number;
}

/** The server ended the connection on its own soon after the response, not after a 5 s linger. */
function assertPromptFin(result: ClosingDownload, what = "the response"): void {
  assert.ok(result.finAfterLastByteMs < SERVER_FIN_DEADLINE_MS, `FIN ${result.finAfterLastByteMs.toFixed(0)} ms after ${what}`);
}

/**
 * Sends `requestText` on a raw connection and reads until the server closes it, checking the body against the
 * pattern as it streams in; `pauseMs` stops reading that long once `pauseAfter` body bytes arrived.
 */
function closingDownload(requestText: string, pauseAfter = 0, pauseMs = 0): Promise<ClosingDownload> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let head: string | undefined;
    let pending = Buffer.alloc(0);
    let bodyBytes = 0;
    let firstMismatch = -1;
    let lastByteAt = 0;
    let paused = pauseMs === 0;
    const idle = () => socket.destroy(new Error(`no data for ${idleTimeoutMs / 1000} s after ${bodyBytes} body bytes`));
    socket.setTimeout(idleTimeoutMs, idle);
    const checkBody = (chunk: Buffer) => {
      for (let i = 0; i < chunk.length && firstMismatch === -1; i++) {
        if (chunk[i] !== (bodyBytes + i) % 251) firstMismatch = bodyBytes + i;
      }
      bodyBytes += chunk.length;
      if (!paused && bodyBytes >= pauseAfter) {
        paused = true;
        socket.pause();
        socket.setTimeout(0);
        setTimeout(() => {
          socket.setTimeout(idleTimeoutMs, idle);
          socket.resume();
        }, pauseMs);
      }
    };
    socket.on("data", (chunk: Buffer) => {
      lastByteAt = performance.now();
      if (head !== undefined) return checkBody(chunk);
      pending = Buffer.concat([pending, chunk]);
      const end = pending.indexOf("\r\n\r\n");
      if (end === -1) return;
      head = pending.subarray(0, end).toString("latin1");
      checkBody(pending.subarray(end + 4));
    });
    socket.once("end", () => {
      const finAfterLastByteMs = performance.now() - lastByteAt;
      socket.destroy();
      resolve({ head: head ?? "", bodyBytes, firstMismatch, finAfterLastByteMs });
    });
    socket.once("error", reject);
    socket.write(requestText);
  });
}

/** Streams `blocks` copies of `block` (each stamped with its index) as a chunked upload; returns the server's answer. */
function upload(block: Buffer, blocks: number): Promise<{ sent: { bytes: number; sha256: string }; answer: unknown }> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    let sent = 0;
    const outgoing = request(
      { host: "127.0.0.1", port, path: "/upload", method: "POST", agent: false, headers: { "transfer-encoding": "chunked" } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("end", () => {
          try {
            resolve({ sent: { bytes: sent, sha256: hash.digest("hex") }, answer: JSON.parse(Buffer.concat(chunks).toString()) });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    outgoing.setTimeout(idleTimeoutMs, () => outgoing.destroy(new Error(`upload: no progress for ${idleTimeoutMs / 1000} s`)));
    outgoing.once("error", reject);
    let index = 0;
    const writeMore = () => {
      while (index < blocks) {
        const piece = Buffer.from(block);
        piece.writeUInt32BE(index++, 0);
        hash.update(piece);
        sent += piece.length;
        if (!outgoing.write(piece)) {
          outgoing.once("drain", writeMore);
          return;
        }
      }
      outgoing.end();
    };
    writeMore();
  });
}

describe("large transfers through the server inside Chromium", { timeout: 600_000 }, () => {
  let app: TestApp;

  before(async () => {
    app = await launchTestApp();
    port = app.port;
  });
  after(async () => {
    await app?.dispose();
  });

  it("GET /download?bytes=104857600 with Content-Length arrives complete and in order", async () => {
    const result = await download(`/download?bytes=${100 * MiB}`);
    assert.equal(result.headers["content-length"], String(100 * MiB));
    assert.equal(result.bytes, 100 * MiB);
    assert.equal(result.firstMismatch, -1);
  });

  it("the same 100 MiB chunked arrives complete and in order", async () => {
    const result = await download(`/download?bytes=${100 * MiB}&chunked=1`);
    assert.equal(result.headers["transfer-encoding"], "chunked");
    assert.equal(result.bytes, 100 * MiB);
    assert.equal(result.firstMismatch, -1);
  });

  it("a 100 MiB upload is counted and hashed exactly", async () => {
    const { sent, answer } = await upload(randomBytes(MiB), 100);
    assert.deepEqual(answer, sent);
  });

  for (const [what, requestText] of [
    ["Connection: close", `GET /download?bytes=${100 * MiB} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`],
    ["HTTP/1.0", `GET /download?bytes=${100 * MiB} HTTP/1.0\r\n\r\n`],
  ] as const) {
    it(`100 MiB with ${what}: complete and in order, then the server's own FIN`, async (t) => {
      const result = await closingDownload(requestText);
      t.diagnostic(`FIN ${result.finAfterLastByteMs.toFixed(1)} ms after the last byte`);
      assert.match(result.head, new RegExp(`^HTTP/1\\.1 200 [^]*\\r\\ncontent-length: ${100 * MiB}\\r\\n`, "i"));
      assert.match(result.head, /\r\nconnection: close/i);
      assert.equal(result.bodyBytes, 100 * MiB);
      assert.equal(result.firstMismatch, -1);
      assertPromptFin(result);
    });
  }

  it("100 MiB with Connection: close to a client that stops reading for 2 s mid-response, then reads to the end", async (t) => {
    const result = await closingDownload(
      `GET /download?bytes=${100 * MiB} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      30 * MiB,
      2_000,
    );
    t.diagnostic(`FIN ${result.finAfterLastByteMs.toFixed(1)} ms after the last byte`);
    assert.equal(result.bodyBytes, 100 * MiB);
    assert.equal(result.firstMismatch, -1);
    assertPromptFin(result);
  });

  it("200 parallel short HTTP/1.0 requests: every one answered whole, every connection closed by the server", async (t) => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => closingDownload(`GET /download?bytes=${1000 + i * 97} HTTP/1.0\r\n\r\n`)),
    );
    results.forEach((result, i) => {
      assert.match(result.head, /^HTTP\/1\.1 200 /, `request ${i}`);
      assert.equal(result.bodyBytes, 1000 + i * 97, `request ${i}`);
      assert.equal(result.firstMismatch, -1, `request ${i}`);
      assertPromptFin(result, `request ${i}`);
    });
    const fins = results.map((result) => result.finAfterLastByteMs).sort((a, b) => a - b);
    t.diagnostic(`FIN after the last byte: median ${fins[100]!.toFixed(1)} ms, slowest ${fins[199]!.toFixed(1)} ms`);
  });

  it("20 parallel 10 MiB downloads all arrive intact", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => download(`/download?bytes=${10 * MiB}`)));
    for (const result of results) {
      assert.equal(result.bytes, 10 * MiB);
      assert.equal(result.firstMismatch, -1);
    }
  });
});
