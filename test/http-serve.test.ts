/**
 * serve() on the Node adapter as an application sees it: the default hostname, url/port, the `info`
 * a handler gets, onListen, onError, stats, and a graceful shutdown (by `shutdown()` or `signal`) that
 * stops accepting, closes idle connections and lets in-flight requests finish.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { serve, type ServeInfo } from "../src/index.js";
import { deferred, exchange, header, RawClient, startServer, stopServer, withTimeout } from "./fixtures/http/harness.js";

/** Resolves with the connect error code, or "connected". */
async function connectOutcome(port: number): Promise<string> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  try {
    await withTimeout(once(socket, "connect"), 5_000, "connect");
    return "connected";
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  } finally {
    socket.destroy();
  }
}

describe("serve()", { timeout: 60_000 }, () => {
  it("listens on 127.0.0.1 by default and reports its url and port once ready", async () => {
    const announced: Array<{ hostname: string; port: number; url: string }> = [];
    const server = serve({ port: 0, fetch: () => new Response("ok"), onListen: (address) => announced.push(address) });
    try {
      assert.equal(server.hostname, "127.0.0.1");
      await withTimeout(server.ready(), 5_000, "ready");
      assert.ok(server.port > 0, "the bound port replaces 0");
      assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
      assert.deepEqual(server.addr, { transport: "tcp", hostname: "127.0.0.1", port: server.port });
      assert.deepEqual(announced, [{ hostname: "127.0.0.1", port: server.port, url: server.url }]);
      const response = await fetch(`${server.url}x`);
      assert.equal(await response.text(), "ok");
    } finally {
      await stopServer(server);
    }
  });

  it("gives the handler the remote and local address and port, and the server", async () => {
    let seen: ServeInfo | undefined;
    let requestIP: unknown;
    const server = await startServer((request, info) => {
      seen = info;
      requestIP = info.server.requestIP(request);
      return new Response("ok");
    });
    const client = await RawClient.connect(server.port);
    try {
      await client.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      await client.response();
      assert.ok(seen);
      assert.equal(seen.remoteAddress, "127.0.0.1");
      assert.equal(seen.remotePort, client.socket.localPort);
      assert.equal(seen.localAddress, "127.0.0.1");
      assert.equal(seen.localPort, server.port);
      assert.deepEqual(seen.remoteAddr, { transport: "tcp", hostname: "127.0.0.1", port: client.socket.localPort });
      assert.equal(seen.server, server);
      assert.deepEqual(requestIP, { address: "127.0.0.1", port: client.socket.localPort });
    } finally {
      client.destroy();
      await stopServer(server);
    }
  });

  it("counts connections and requests in stats", async () => {
    const server = await startServer(() => new Response("ok"));
    try {
      await exchange(server.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
      await exchange(server.port, "GET / HTTP/1.1\r\n\r\n");
      assert.equal(server.stats.acceptedConnections, 2);
      assert.equal(server.stats.requests, 2);
      assert.equal(server.stats.refusedRequests, 1);
    } finally {
      await stopServer(server);
    }
  });

  it("rejects ready() when the port is taken, and finishes", async () => {
    const blocker = net.createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const server = serve({ port, fetch: () => new Response("never") });
      await assert.rejects(withTimeout(server.ready(), 5_000, "ready"), (error: NodeJS.ErrnoException) => error.code === "EADDRINUSE");
      await withTimeout(server.finished, 5_000, "finished after a failed listen");
    } finally {
      blocker.close();
    }
  });

  it("answers 500 and logs through the default onError", async () => {
    const logged: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    const server = serve({
      port: 0,
      fetch: () => {
        throw new Error("boom");
      },
    });
    try {
      await server.ready();
      const [response] = await exchange(server.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal(response!.status, 500);
      assert.ok(
        logged.some((args) => args.some((arg) => arg instanceof Error && arg.message === "boom")),
        "the error was logged",
      );
    } finally {
      console.error = original;
      await stopServer(server);
    }
  });

  it("falls back to 500 when onError itself fails", async () => {
    const original = console.error;
    console.error = () => {};
    const server = await startServer(
      () => {
        throw new Error("first");
      },
      {
        onError: () => {
          throw new Error("second");
        },
      },
    );
    try {
      const [response] = await exchange(server.port, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      assert.equal(response!.status, 500);
    } finally {
      console.error = original;
      await stopServer(server);
    }
  });

  describe("graceful shutdown", () => {
    it("stops accepting, closes idle connections, lets in-flight requests finish, then finishes", async () => {
      const started = deferred();
      const release = deferred();
      const server = await startServer(async (request) => {
        if (new URL(request.url).pathname === "/slow") {
          started.resolve();
          await release.promise;
          return new Response("finished in flight");
        }
        return new Response("quick");
      });
      const busy = await RawClient.connect(server.port);
      const idle = await RawClient.connect(server.port);
      try {
        await idle.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.equal((await idle.response()).body.toString(), "quick");
        await busy.write("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
        await withTimeout(started.promise, 5_000, "the slow request to start");

        let shutDown = false;
        const shutdown = server.shutdown().then(() => (shutDown = true));
        assert.equal((await idle.serverClosed()).length, 0, "the idle connection closes without a response");
        assert.equal(await connectOutcome(server.port), "ECONNREFUSED");
        assert.equal(shutDown, false, "shutdown waits for the request in flight");

        release.resolve();
        const response = await busy.response();
        assert.equal(response.body.toString(), "finished in flight");
        assert.equal(header(response, "connection"), "close");
        await busy.serverClosed();
        await withTimeout(shutdown, 5_000, "shutdown");
        await withTimeout(server.finished, 5_000, "finished");
        assert.equal(server.stats.connections, 0);
      } finally {
        release.resolve();
        busy.destroy();
        idle.destroy();
        await stopServer(server);
      }
    });

    it("shuts down when the signal aborts", async () => {
      const controller = new AbortController();
      const server = await startServer(() => new Response("ok"), { signal: controller.signal });
      const port = server.port;
      assert.equal(await connectOutcome(port), "connected");
      controller.abort();
      await withTimeout(server.finished, 5_000, "finished after abort");
      assert.equal(await connectOutcome(port), "ECONNREFUSED");
    });

    it("close() is shutdown() under Bun's name", async () => {
      const server = await startServer(() => new Response("ok"));
      await withTimeout(server.close(), 5_000, "close");
      await withTimeout(server.finished, 5_000, "finished");
    });

    it("close(true) drops connections whose responses never end, where shutdown() would wait forever", async () => {
      const encoder = new TextEncoder();
      const endless = () => {
        let cancelled = false;
        return new Response(
          new ReadableStream<Uint8Array>({
            // A tick already scheduled when the server cancels the body must not enqueue (Node 24 throws there).
            pull: (controller) =>
              new Promise<void>((resolve) =>
                setTimeout(() => resolve(cancelled ? undefined : controller.enqueue(encoder.encode("tick\n"))), 20),
              ),
            cancel: () => {
              cancelled = true;
            },
          }),
        );
      };
      const server = await startServer(endless);
      const client = await RawClient.connect(server.port);
      try {
        await client.write("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        await client.until(() => (client.received.includes("tick") ? true : undefined), "the endless response to start", 5_000);
        let finished = false;
        void server.shutdown().then(() => (finished = true));
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(finished, false, "a graceful shutdown waits for the endless response");
        await withTimeout(server.close(true), 5_000, "close(true)");
        await withTimeout(client.serverClosed(), 5_000, "the client to see the connection close");
        assert.equal(server.stats.connections, 0);
      } finally {
        client.destroy();
      }
    });
  });
});
