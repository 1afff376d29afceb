/**
 * Refusals and limits through serve() on the Node adapter: each malformed or over-limit request gets its
 * status, `Connection: close` and a closed connection, while a keep-alive connection opened beforehand
 * goes on being served. Also timeouts, the connection cap, and handlers that throw or reject.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "../src/index.js";
import {
  deferred,
  delay,
  exchange,
  header,
  RawClient,
  startServer,
  stopServer,
  withTimeout,
  type WireResponse,
} from "./fixtures/http/harness.js";

const limits = { maxHeaderSize: 1024, maxRequestTargetLength: 256, maxBodySize: 1000 };

describe("HTTP limits and refusals", { timeout: 120_000 }, () => {
  let server: Server;
  let bystander: RawClient;
  let handled = 0;

  before(async () => {
    server = await startServer(async (request) => {
      if (new URL(request.url).pathname !== "/bystander") handled++;
      return new Response(`ok ${request.body ? (await request.arrayBuffer()).byteLength : 0}`);
    }, limits);
    bystander = await RawClient.connect(server.port);
  });
  after(async () => {
    bystander?.destroy();
    await stopServer(server);
  });

  /** The bystander connection, opened before any refusal, is still served. */
  async function bystanderServed(): Promise<void> {
    await bystander.write("GET /bystander HTTP/1.1\r\nHost: h\r\n\r\n");
    assert.equal((await bystander.response()).body.toString(), "ok 0");
  }

  /** Sends `request` without ending our side; the server must answer once and close by itself. */
  async function refused(request: string, status: number, what = request): Promise<WireResponse> {
    const client = await RawClient.connect(server.port);
    try {
      await client.write(request);
      const response = await client.response();
      assert.equal(response.status, status, `${JSON.stringify(what.slice(0, 120))}: ${response.body.toString()}`);
      assert.equal(header(response, "connection"), "close");
      assert.equal(header(response, "content-type"), "text/plain; charset=utf-8");
      assert.ok(response.body.length > 0, "the refusal says why");
      await client.serverClosed();
      await bystanderServed();
      return response;
    } finally {
      client.destroy();
    }
  }

  it("400 for malformed syntax", async () => {
    await refused("GET / HTTP/1.1\r\nHost h\r\n\r\n", 400);
    await refused("GET /\x00 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    await refused("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400, "a TLS ClientHello");
  });

  it("400 for both Content-Length and Transfer-Encoding", async () => {
    await refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
    await refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400);
  });

  it("400 for conflicting Content-Lengths; identical repeats are one length", async () => {
    await refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400);
    await refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nab", 400);
    const responses = await exchange(server.port, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc");
    assert.equal(responses[0]!.body.toString(), "ok 3");
  });

  it("400 for signs or junk in Content-Length", async () => {
    for (const value of ["+5", "-5", "5a", "0x5", "5 5", "", "5.0", "1e3", "99999999999999999999"]) {
      await refused(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${value}\r\n\r\nabcde`, 400, `Content-Length: ${value}`);
    }
  });

  it("400 for Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)", async () => {
    await refused("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
  });

  it("501 for a transfer coding it does not implement; 400 for chunked not last or twice", async () => {
    await refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
    await refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: x-custom\r\n\r\n", 501);
    await refused("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400);
  });

  it("431 for a header section over maxHeaderSize, complete or not", async () => {
    await refused(`GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${"a".repeat(2000)}\r\n\r\n`, 431);
    await refused(`GET / HTTP/1.1\r\nHost: h\r\n${"X-Many: b\r\n".repeat(200)}`, 431, "an unfinished large header section");
  });

  it("414 for a request target over maxRequestTargetLength, complete or not", async () => {
    await refused(`GET /${"t".repeat(300)} HTTP/1.1\r\nHost: h\r\n\r\n`, 414);
    await refused(`GET /${"t".repeat(5000)}`, 414, "an unfinished request line longer than the header limit");
  });

  it("413 decided from Content-Length before any body byte is read, without calling the handler", async () => {
    const before = handled;
    await refused("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", 413);
    assert.equal(handled, before, "the handler was not called");
    const atLimit = await exchange(server.port, `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n${"x".repeat(1000)}`);
    assert.equal(atLimit[0]!.body.toString(), "ok 1000");
  });

  it("413 for a chunked body that grows over maxBodySize", async () => {
    await refused(`POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n${"x".repeat(1000)}\r\n1\r\ny\r\n0\r\n\r\n`, 413);
  });

  it("505 for a major version other than 1", async () => {
    await refused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    await refused("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
    await refused("GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505);
  });

  it("400 for a missing, repeated or invalid Host in HTTP/1.1", async () => {
    await refused("GET / HTTP/1.1\r\n\r\n", 400);
    await refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    await refused("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    await refused("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
  });

  it("501 for CONNECT and TRACE", async () => {
    await refused("TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
    await refused("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 400);
  });

  it("counts refusals in stats", () => {
    assert.ok(server.stats.refusedRequests >= 20, `${server.stats.refusedRequests} refusals counted`);
  });
});

describe("HTTP timeouts and the connection cap", { timeout: 60_000 }, () => {
  it("408 when a request head does not arrive within headersTimeout, idle connections just close", async () => {
    const server = await startServer(() => new Response("ok"), { headersTimeout: 300, idleTimeout: 300 });
    try {
      const slowHead = await RawClient.connect(server.port);
      const silent = await RawClient.connect(server.port);
      let idleAfterRequest: RawClient | undefined;
      try {
        await slowHead.write("GET / HTTP/1.1\r\nHost: h\r\n");
        const response = await slowHead.response();
        assert.equal(response.status, 408);
        assert.equal(header(response, "connection"), "close");
        await slowHead.serverClosed();

        idleAfterRequest = await RawClient.connect(server.port);
        await idleAfterRequest.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.equal((await idleAfterRequest.response()).status, 200);
        assert.equal((await idleAfterRequest.serverClosed()).length, 0, "an idle keep-alive connection closes without a response");
        assert.equal((await silent.serverClosed()).length, 0, "a connection that never sends closes without a response");
      } finally {
        slowHead.destroy();
        idleAfterRequest?.destroy();
        silent.destroy();
      }
    } finally {
      await stopServer(server);
    }
  });

  it("the headers timeout does not cut a body that is still arriving", async () => {
    const server = await startServer(async (request) => new Response(await request.text()), { headersTimeout: 200 });
    const client = await RawClient.connect(server.port);
    try {
      await client.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab");
      await delay(400);
      await client.write("cdef");
      assert.equal((await client.response()).body.toString(), "abcdef");
    } finally {
      client.destroy();
      await stopServer(server);
    }
  });

  it("408 and a close when a request body stalls for bodyTimeout; a body that keeps arriving is read whole", async () => {
    const server = await startServer(async (request) => new Response(`got ${(await request.arrayBuffer()).byteLength}`), {
      bodyTimeout: 400,
    });
    const stalled = await RawClient.connect(server.port);
    const steady = await RawClient.connect(server.port);
    try {
      await stalled.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789");
      const refusal = await stalled.response();
      assert.equal(refusal.status, 408);
      assert.equal(header(refusal, "connection"), "close");
      assert.match(refusal.body.toString(), /no request body bytes for 400 ms/);
      await stalled.serverClosed();

      // Ten pieces, each well within the timeout of the one before: the timeout is per wait, not per body.
      await steady.write("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let piece = 0; piece < 10; piece++) {
        await steady.write("5\r\nhello\r\n");
        await delay(60);
      }
      await steady.write("0\r\n\r\n");
      const answer = await steady.response();
      assert.equal(answer.body.toString(), "got 50");
    } finally {
      stalled.destroy();
      steady.destroy();
      await stopServer(server);
    }
  });

  it("answers 503 and closes beyond maxConnections; a freed slot is served again", async () => {
    const server = await startServer(() => new Response("ok"), { maxConnections: 3 });
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const client = await RawClient.connect(server.port);
        clients.push(client);
        await client.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.equal((await client.response()).status, 200);
      }
      const extra = await RawClient.connect(server.port);
      clients.push(extra);
      const refusal = await extra.response();
      assert.equal(refusal.status, 503);
      assert.equal(header(refusal, "connection"), "close");
      await extra.serverClosed();

      clients[0]!.destroy();
      await withTimeout(
        (async () => {
          while (server.stats.connections > 2) await delay(10);
        })(),
        5_000,
        "the server to notice the closed connection",
      );
      const next = await RawClient.connect(server.port);
      clients.push(next);
      await next.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal((await next.response()).status, 200);
      for (const client of clients.slice(1, 3)) {
        await client.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.equal((await client.response()).status, 200, "connections under the cap go on");
      }
    } finally {
      for (const client of clients) client.destroy();
      await stopServer(server);
    }
  });
});

describe("HTTP garbage input", { timeout: 60_000 }, () => {
  it("survives 300 connections of random bytes and mutated requests, answering each with 4xx/5xx or a close", async () => {
    const server = await startServer(async (request) => new Response(`ok ${request.body ? (await request.arrayBuffer()).byteLength : 0}`), {
      headersTimeout: 1_000,
      idleTimeout: 1_000,
    });
    // A fixed-seed generator, so a failure can be reproduced.
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const valid = Buffer.from(
      "POST /p?q=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    );
    try {
      const inputs: Buffer[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 2 === 0) {
          inputs.push(Buffer.from(Array.from({ length: 1 + Math.floor(random() * 400) }, () => Math.floor(random() * 256))));
        } else {
          const mutated = Buffer.from(valid);
          for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--)
            mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
          inputs.push(mutated);
        }
      }
      for (let batch = 0; batch < inputs.length; batch += 50) {
        await Promise.all(
          inputs.slice(batch, batch + 50).map(async (input, i) => {
            const responses = await exchange(server.port, input).catch((error: Error) => {
              throw new Error(`input ${batch + i} (${input.toString("hex")}): ${error.message}`);
            });
            for (const response of responses)
              assert.ok(response.status === 200 || response.status >= 400, `input ${batch + i}: status ${response.status}`);
          }),
        );
      }
      assert.equal((await exchange(server.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"))[0]!.body.toString(), "ok 0");
    } finally {
      await stopServer(server);
    }
  });
});

describe("HTTP handler failures", { timeout: 60_000 }, () => {
  it("answers 500 for a handler that throws or rejects, while other requests go on", async () => {
    const slowStarted = deferred();
    const releaseSlow = deferred();
    const errors: unknown[] = [];
    const server = await startServer(
      async (request) => {
        const path = new URL(request.url).pathname;
        if (path === "/slow") {
          slowStarted.resolve();
          await releaseSlow.promise;
          return new Response("slow done");
        }
        if (path === "/reject") throw new Error("rejected on purpose");
        if (path === "/nothing") return undefined;
        if (path === "/bad-length") return new Response("abc", { headers: { "content-length": "three" } });
        return new Response("fine");
      },
      {
        onError: (error) => {
          errors.push(error);
          return new Response("handler failed\n", { status: 500 });
        },
      },
    );
    // A synchronous throw, too: the handler below is not async.
    const syncServer = await startServer(() => {
      throw new TypeError("thrown on purpose");
    });
    const slow = await RawClient.connect(server.port);
    try {
      await slow.write("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
      await withTimeout(slowStarted.promise, 5_000, "the slow handler to start");
      const failed = await exchange(server.port, "GET /reject HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.deepEqual(
        failed.map((response) => [response.status, response.body.toString()]),
        [
          [500, "handler failed\n"],
          [200, "fine"],
        ],
        "the connection goes on after a 500",
      );
      assert.equal((errors[0] as Error).message, "rejected on purpose");
      const nothing = await exchange(server.port, "GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal(nothing[0]!.status, 500, "a handler that returns no Response");
      const badLength = await exchange(server.port, "GET /bad-length HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal(badLength[0]!.status, 500, "a response with a malformed Content-Length");
      assert.equal((await exchange(syncServer.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"))[0]!.status, 500);
      releaseSlow.resolve();
      assert.equal((await slow.response()).body.toString(), "slow done");
    } finally {
      releaseSlow.resolve();
      slow.destroy();
      await stopServer(server);
      await stopServer(syncServer);
    }
  });
});
