/**
 * The connection loop through serve() on the Node adapter: persistence (HTTP/1.1 default, HTTP/1.0 opt-in,
 * Connection: close), pipelined requests answered in order, Expect: 100-continue, responses without a
 * body (HEAD, 1xx, 204, 304), the Date header, and many connections at once.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "../src/index.js";
import { delay, exchange, header, RawClient, startServer, stopServer, withTimeout } from "./fixtures/http/harness.js";

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

describe("HTTP connections", { timeout: 120_000 }, () => {
  let server: Server;
  before(async () => {
    server = await startServer(async (request) => {
      const url = new URL(request.url);
      switch (url.pathname) {
        case "/wait":
          await delay(Number(url.searchParams.get("ms")));
          return new Response(`waited ${url.searchParams.get("ms")}`);
        case "/echo":
          return new Response(await request.text());
        case "/refuse-body":
          return new Response("not reading that", { status: 403 });
        case "/no-content":
          return new Response(null, { status: 204, headers: { "x-kind": "204" } });
        case "/not-modified":
          return new Response(null, { status: 304, headers: { etag: '"v1"' } });
        case "/stream": {
          let pieces = 0;
          return new Response(
            new ReadableStream({
              async pull(controller) {
                await delay(5);
                controller.enqueue(new TextEncoder().encode("streamed"));
                if (++pieces === 2) controller.close();
              },
            }),
          );
        }
      }
      return new Response(`hello ${url.pathname}`, { headers: { "content-type": "text/plain" } });
    });
  });
  after(() => stopServer(server));

  describe("persistence", () => {
    it("keeps an HTTP/1.1 connection open by default", async () => {
      const client = await RawClient.connect(server.port);
      try {
        for (const path of ["/a", "/b", "/c"]) {
          await client.write(`GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`);
          const response = await client.response();
          assert.equal(response.body.toString(), `hello ${path}`);
          assert.equal(header(response, "connection"), undefined);
        }
        assert.equal(client.ended, false);
      } finally {
        client.destroy();
      }
    });

    it("closes an HTTP/1.0 connection by default", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.write("GET /old HTTP/1.0\r\n\r\n");
        const response = await client.response();
        assert.equal(response.version, "1.1");
        assert.equal(header(response, "connection"), "close");
        assert.equal((await client.serverClosed()).length, 0);
      } finally {
        client.destroy();
      }
    });

    it("keeps an HTTP/1.0 connection open on Connection: keep-alive", async () => {
      const client = await RawClient.connect(server.port);
      try {
        for (const path of ["/one", "/two"]) {
          await client.write(`GET ${path} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n`);
          const response = await client.response();
          assert.equal(response.body.toString(), `hello ${path}`);
          assert.equal(header(response, "connection"), "keep-alive");
        }
        // Unknown length cannot be chunked for HTTP/1.0: the server closes to end the body.
        await client.write("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        await client.serverClosed();
        const response = await client.response();
        assert.equal(response.framing, "close");
        assert.equal(response.body.toString(), "streamedstreamed");
      } finally {
        client.destroy();
      }
    });

    it("closes after answering Connection: close", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.write("GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        const response = await client.response();
        assert.equal(header(response, "connection"), "close");
        assert.equal(response.body.toString(), "hello /bye");
        assert.equal((await client.serverClosed()).length, 0, "nothing after the response");
      } finally {
        client.destroy();
      }
    });

    it("answers pipelined requests in order even when earlier ones take longer", async () => {
      const requests = ["/wait?ms=80", "/fast1", "/wait?ms=20", "/fast2", "/wait?ms=0"];
      const responses = await exchange(server.port, requests.map((path) => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`).join(""));
      assert.deepEqual(
        responses.map((response) => response.body.toString()),
        ["waited 80", "hello /fast1", "waited 20", "hello /fast2", "waited 0"],
      );
    });
  });

  describe("Expect: 100-continue", () => {
    it("sends 100 Continue when the handler reads, then the final response, and keeps the connection", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.write("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        const interim = await client.response();
        assert.equal(interim.status, 100);
        await client.write("hello");
        const final = await client.response();
        assert.equal(final.status, 200);
        assert.equal(final.body.toString(), "hello");
        await client.write("GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
        assert.equal((await client.response()).body.toString(), "hello /after");
      } finally {
        client.destroy();
      }
    });

    it("copes with a client that sends the body without waiting", async () => {
      const responses = await exchange(
        server.port,
        "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nworld" +
          "GET /next HTTP/1.1\r\nHost: h\r\n\r\n",
      );
      const finals = responses.filter((response) => response.status !== 100);
      assert.ok(responses.length - finals.length <= 1, "at most one 100 Continue");
      assert.deepEqual(
        finals.map((response) => response.body.toString()),
        ["world", "hello /next"],
      );
    });

    it("sends no 100 Continue when the handler answers without reading, and closes", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.write("POST /refuse-body HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
        const response = await client.response();
        assert.equal(response.status, 403);
        assert.equal((await client.serverClosed()).length, 0, "no stray interim response");
      } finally {
        client.destroy();
      }
    });

    it("refuses an expectation it does not know with 417", async () => {
      const responses = await exchange(server.port, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx");
      assert.deepEqual(
        responses.map((response) => response.status),
        [417],
      );
    });
  });

  describe("responses without a body", () => {
    it("answers HEAD with the GET headers and no body, and the connection goes on", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.write("HEAD /page HTTP/1.1\r\nHost: h\r\n\r\nGET /page HTTP/1.1\r\nHost: h\r\n\r\n");
        const head = await client.response({ head: true });
        assert.equal(head.status, 200);
        assert.equal(header(head, "content-length"), String("hello /page".length));
        assert.equal(header(head, "content-type"), "text/plain");
        const get = await client.response();
        assert.equal(get.body.toString(), "hello /page");
        await client.write("HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n");
        const streamedHead = await client.response({ head: true });
        assert.equal(streamedHead.status, 200);
        assert.equal((await client.response()).body.toString(), "hello /x", "no body bytes after the HEAD response");
      } finally {
        client.destroy();
      }
    });

    it("sends 204 and 304 without body or framing, and the connection goes on", async () => {
      const client = await RawClient.connect(server.port);
      try {
        await client.write(
          "GET /no-content HTTP/1.1\r\nHost: h\r\n\r\nGET /not-modified HTTP/1.1\r\nHost: h\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\n\r\n",
        );
        const noContent = await client.response();
        assert.equal(noContent.status, 204);
        assert.equal(header(noContent, "x-kind"), "204");
        assert.equal(header(noContent, "content-length"), undefined);
        assert.equal(header(noContent, "transfer-encoding"), undefined);
        const notModified = await client.response();
        assert.equal(notModified.status, 304);
        assert.equal(header(notModified, "etag"), '"v1"');
        assert.equal(header(notModified, "transfer-encoding"), undefined);
        assert.equal((await client.response()).body.toString(), "hello /z");
      } finally {
        client.destroy();
      }
    });
  });

  it("sends a Date header in IMF-fixdate form on every response", async () => {
    const responses = await exchange(
      server.port,
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /no-content HTTP/1.1\r\nHost: h\r\n\r\nGET bad\r\n\r\n",
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      [200, 204, 400],
    );
    for (const response of responses) {
      const date = header(response, "date");
      assert.match(date ?? "", IMF_FIXDATE);
      assert.ok(Math.abs(Date.parse(date!) - Date.now()) < 3_600_000, `Date ${date} is far from now`);
    }
  });

  describe("many connections at once", () => {
    it("answers 200 raw connections that are all open at the same time", async () => {
      const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(server.port)));
      try {
        await Promise.all(clients.map((client, i) => client.write(`GET /c${i} HTTP/1.1\r\nHost: h\r\n\r\n`)));
        const responses = await Promise.all(clients.map((client) => client.response({ ms: 30_000 })));
        responses.forEach((response, i) => {
          assert.equal(response.body.toString(), `hello /c${i}`);
        });
        assert.ok(server.stats.connections >= 200, `${server.stats.connections} connections open`);
      } finally {
        for (const client of clients) client.destroy();
      }
    });

    it("answers 200 concurrent fetch() requests, each slow, in parallel", async () => {
      const responses = await withTimeout(
        Promise.all(
          Array.from({ length: 200 }, (_, i) => fetch(`${server.url}wait?ms=${i % 2 ? 200 : 100}`).then((response) => response.text())),
        ),
        30_000,
        "200 fetches",
      );
      responses.forEach((text, i) => {
        assert.equal(text, `waited ${i % 2 ? 200 : 100}`);
      });
    });
  });
});
