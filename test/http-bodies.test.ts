/**
 * Bodies in both directions through serve() on the Node adapter: request bodies read on demand with
 * backpressure to the client, response bodies streamed with Content-Length when known and chunked
 * otherwise, backpressure from a client that does not read, and what happens when a body fails midway.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "../src/index.js";
import { curl, deferred, delay, exchange, header, MiB, RawClient, startServer, stopServer, withTimeout } from "./fixtures/http/harness.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/**
 * Bytes allowed in flight while one side does not read: loopback socket buffers (a few MiB each way)
 * plus the adapter's and the server's bounded queues. Buffering the whole body instead blows far past it.
 */
const IN_FLIGHT_BOUND = 40 * MiB;

/** Samples `read` every 100 ms until it stops changing for 5 samples or reaches `ceiling`; bounded. */
async function settledValue(read: () => number, ceiling: number): Promise<number> {
  let last = -1;
  let unchanged = 0;
  for (let sample = 0; sample < 300; sample++) {
    const value = read();
    if (value >= ceiling) return value;
    unchanged = value === last ? unchanged + 1 : 0;
    if (unchanged >= 5) return value;
    last = value;
    await delay(100);
  }
  throw new Error(`value did not settle (last ${last})`);
}

describe("HTTP bodies", { timeout: 180_000 }, () => {
  describe("request bodies", () => {
    it("reads the body only as fast as the handler consumes it (the client's writes block)", async () => {
      const total = 128 * MiB;
      let handlerRead = 0;
      const release = deferred();
      const firstChunk = deferred();
      const hash = createHash("sha256");
      const server = await startServer(async (request) => {
        const reader = request.body!.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          handlerRead += value.length;
          hash.update(value);
          if (handlerRead === value.length) {
            firstChunk.resolve();
            await release.promise;
          }
        }
        return Response.json({ bytes: handlerRead, sha256: hash.digest("hex") });
      });
      const client = await RawClient.connect(server.port);
      try {
        await client.write(`POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: ${total}\r\n\r\n`);
        const piece = randomBytes(MiB);
        const sent = createHash("sha256");
        let written = 0;
        let stalled = false;
        while (written < total && !stalled) {
          sent.update(piece);
          written += piece.length;
          if (!client.socket.write(piece)) {
            // No drain within 2 s while the handler holds back: the server stopped reading.
            stalled = await withTimeout(once(client.socket, "drain"), 2_000, "drain").then(
              () => false,
              () => true,
            );
          }
        }
        await withTimeout(firstChunk.promise, 10_000, "the handler's first chunk");
        assert.ok(stalled, `the client wrote all ${written} bytes while the handler was not reading`);
        assert.ok(written - handlerRead < IN_FLIGHT_BOUND, `${written - handlerRead} bytes in flight while the handler waited`);
        release.resolve();
        while (written < total) {
          sent.update(piece);
          written += piece.length;
          if (!client.socket.write(piece)) await withTimeout(once(client.socket, "drain"), 10_000, "drain");
        }
        const response = await client.response({ ms: 30_000 });
        assert.deepEqual(JSON.parse(response.body.toString()), { bytes: total, sha256: sent.digest("hex") });
      } finally {
        release.resolve();
        client.destroy();
        await stopServer(server);
      }
    });

    it("streams a request body back while it is still arriving (echo)", async () => {
      const server = await startServer(
        (request) => new Response(request.body, { headers: { "content-type": "application/octet-stream" } }),
      );
      const dir = await mkdtemp(join(tmpdir(), "http-bodies-"));
      try {
        const payload = randomBytes(8 * MiB + 7);
        await writeFile(join(dir, "payload"), payload);
        const result = await curl([
          "--data-binary",
          `@${join(dir, "payload")}`,
          "-H",
          "content-type: application/octet-stream",
          `${server.url}echo`,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.length, payload.length);
        assert.equal(sha256(result.stdout), sha256(payload));
      } finally {
        await rm(dir, { recursive: true, force: true });
        await stopServer(server);
      }
    });

    it("skips a small unread body and keeps the connection; answers before closing on a large unread one", async () => {
      const server = await startServer(() => new Response("ignored your body"));
      try {
        const small = "x".repeat(1000);
        const responses = await exchange(
          server.port,
          `POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: ${small.length}\r\n\r\n${small}GET /b HTTP/1.1\r\nHost: h\r\n\r\n`,
        );
        assert.deepEqual(
          responses.map((response) => response.status),
          [200, 200],
        );

        const client = await RawClient.connect(server.port);
        try {
          const large = 64 * MiB;
          await client.write(`POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: ${large}\r\n\r\n`);
          client.socket.write(Buffer.alloc(4 * MiB));
          const response = await client.response();
          assert.equal(response.status, 200);
          assert.equal(response.body.toString(), "ignored your body");
          await client.serverClosed();
        } finally {
          client.destroy();
        }
      } finally {
        await stopServer(server);
      }
    });
  });

  describe("response framing", () => {
    let server: Server;
    before(async () => {
      server = await startServer(async (request) => {
        const url = new URL(request.url);
        switch (url.pathname) {
          case "/string":
            return new Response("known length");
          case "/bytes":
            return new Response(new Uint8Array([1, 2, 3, 4, 5]));
          case "/empty":
            return new Response(null);
          case "/whole-stream":
            return new Response(
              new ReadableStream({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode("all at once"));
                  controller.close();
                },
              }),
            );
          case "/trickle": {
            let count = 0;
            return new Response(
              new ReadableStream({
                async pull(controller) {
                  await delay(5);
                  controller.enqueue(new TextEncoder().encode(`piece ${count};`));
                  if (++count === 5) controller.close();
                },
              }),
            );
          }
          case "/declared": {
            let count = 0;
            return new Response(
              new ReadableStream({
                async pull(controller) {
                  await delay(5);
                  controller.enqueue(new TextEncoder().encode("0123456789"));
                  if (++count === 3) controller.close();
                },
              }),
              { headers: { "content-length": "30" } },
            );
          }
          case "/short": {
            let sent = false;
            return new Response(
              new ReadableStream({
                async pull(controller) {
                  await delay(5);
                  if (sent) return controller.close();
                  controller.enqueue(new TextEncoder().encode("12345"));
                  sent = true;
                },
              }),
              { headers: { "content-length": "10" } },
            );
          }
          case "/fails-midway": {
            let count = 0;
            return new Response(
              new ReadableStream({
                async pull(controller) {
                  await delay(5);
                  if (count++ === 2) return controller.error(new Error("source failed"));
                  controller.enqueue(new TextEncoder().encode("data;"));
                },
              }),
            );
          }
          case "/big": {
            const payload = Buffer.alloc(16 * MiB);
            for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
            let offset = 0;
            return new Response(
              new ReadableStream({
                pull(controller) {
                  controller.enqueue(new Uint8Array(payload.subarray(offset, offset + 100_000)));
                  offset += 100_000;
                  if (offset >= payload.length) controller.close();
                },
              }),
            );
          }
          case "/set-cookie": {
            const headers = new Headers();
            headers.append("set-cookie", "a=1; Path=/");
            headers.append("set-cookie", "b=2; Path=/");
            headers.set("transfer-encoding", "gzip");
            headers.set("date", "yesterday");
            return new Response("cookies", { headers });
          }
        }
        return new Response("not found", { status: 404 });
      });
    });
    after(() => stopServer(server));

    async function get(path: string, version = "1.1"): Promise<Awaited<ReturnType<RawClient["response"]>>> {
      const responses = await exchange(server.port, `GET ${path} HTTP/${version}\r\nHost: h\r\n\r\n`);
      assert.equal(responses.length, 1);
      return responses[0]!;
    }

    it("sends Content-Length for strings, bytes, empty and already-complete stream bodies", async () => {
      for (const [path, body] of [
        ["/string", "known length"],
        ["/bytes", "\x01\x02\x03\x04\x05"],
        ["/empty", ""],
        ["/whole-stream", "all at once"],
      ] as const) {
        const response = await get(path);
        assert.equal(response.framing, "length", path);
        assert.equal(header(response, "content-length"), String(body.length), path);
        assert.equal(response.body.toString("latin1"), body, path);
      }
    });

    it("sends chunked for a stream of unknown length, one chunk per piece", async () => {
      const response = await get("/trickle");
      assert.equal(response.framing, "chunked");
      assert.equal(header(response, "content-length"), undefined);
      assert.equal(response.body.toString(), "piece 0;piece 1;piece 2;piece 3;piece 4;");
      assert.ok(response.chunkCount >= 2, `${response.chunkCount} chunks`);
    });

    it("streams a body with a declared Content-Length as is", async () => {
      const response = await get("/declared");
      assert.equal(response.framing, "length");
      assert.equal(response.body.toString(), "012345678901234567890123456789");
    });

    it("ends an HTTP/1.0 response of unknown length by closing the connection", async () => {
      const response = await get("/trickle", "1.0");
      assert.equal(response.framing, "close");
      assert.equal(header(response, "connection"), "close");
      assert.equal(response.body.toString(), "piece 0;piece 1;piece 2;piece 3;piece 4;");
    });

    it("cuts the connection when a body is shorter than its Content-Length or fails midway, and goes on serving", async () => {
      for (const path of ["/short", "/fails-midway"]) {
        const client = await RawClient.connect(server.port);
        try {
          await client.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
          const rest = await client.serverClosed();
          const text = rest.toString("latin1");
          assert.match(text, /^HTTP\/1\.1 200 /, path);
          assert.ok(!text.endsWith("0\r\n\r\n"), `${path}: a failed body must not look complete`);
        } finally {
          client.destroy();
        }
      }
      assert.equal((await get("/string")).status, 200);
    });

    it("delivers a 16 MiB streamed body intact to curl", async () => {
      const result = await curl([`${server.url}big`]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.length, 16 * MiB);
      for (let i = 0; i < result.stdout.length; i++) if (result.stdout[i] !== i % 251) assert.fail(`byte ${i} differs`);
    });

    it("sends each Set-Cookie on its own line and replaces connection-managed fields", async () => {
      const response = await get("/set-cookie");
      assert.deepEqual(response.headers.get("set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
      assert.equal(header(response, "transfer-encoding"), undefined);
      assert.equal(response.headers.get("date")?.length, 1);
      assert.notEqual(header(response, "date"), "yesterday");
      assert.equal(response.body.toString(), "cookies");
    });
  });

  describe("response backpressure", () => {
    it("pulls from the body only as fast as a slow client reads, and cancels it when the client leaves", async () => {
      let pulled = 0;
      const cancelled = deferred<unknown>();
      const piece = new Uint8Array(64 * 1024);
      const ceiling = 1024 * MiB;
      const server = await startServer((request) =>
        new URL(request.url).pathname === "/endless"
          ? new Response(
              new ReadableStream<Uint8Array>({
                pull(controller) {
                  pulled += piece.length;
                  controller.enqueue(piece.slice());
                  if (pulled >= ceiling) controller.close();
                },
                cancel(reason) {
                  cancelled.resolve(reason);
                },
              }),
            )
          : new Response("still here"),
      );
      const client = await RawClient.connect(server.port);
      try {
        client.socket.pause();
        await client.write("GET /endless HTTP/1.1\r\nHost: h\r\n\r\n");
        const whilePaused = await settledValue(() => pulled, ceiling);
        assert.ok(whilePaused < IN_FLIGHT_BOUND, `${whilePaused} bytes pulled while the client read nothing`);

        client.discard = true;
        client.socket.resume();
        await client.until(
          () => (pulled > whilePaused + 32 * MiB ? true : undefined),
          "the body to flow again once the client reads",
          30_000,
        );
        client.destroy();
        await withTimeout(cancelled.promise, 10_000, "the body stream to be cancelled after the client left");
        assert.ok(pulled < ceiling, "the whole body was produced for a client that left");
        assert.equal((await exchange(server.port, "GET /other HTTP/1.1\r\nHost: h\r\n\r\n"))[0]!.body.toString(), "still here");
      } finally {
        client.destroy();
        await stopServer(server);
      }
    });
  });
});
