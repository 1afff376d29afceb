/**
 * Large transfers through the server inside Chromium arrive whole and in order (issue 6: the native socket's
 * writes can be lost silently under load). Every byte of a download is checked against the i % 251 pattern as it
 * streams in; uploads are checked by byte count and SHA-256. A transfer that stalls fails on its idle timeout.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
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
      response.once("error", (error) =>
        reject(new Error(`${path}: the connection broke after ${offset} bytes (${error.message})`)),
      );
    });
    outgoing.setTimeout(idleTimeoutMs, () =>
      outgoing.destroy(new Error(`${path}: no data for ${idleTimeoutMs / 1000} s (bytes lost or stalled)`)),
    );
    outgoing.once("error", reject);
    outgoing.end();
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

  it("20 parallel 10 MiB downloads all arrive intact", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => download(`/download?bytes=${10 * MiB}`)));
    for (const result of results) {
      assert.equal(result.bytes, 10 * MiB);
      assert.equal(result.firstMismatch, -1);
    }
  });
});
