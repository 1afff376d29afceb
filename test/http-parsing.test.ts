/**
 * Request parsing through serve() on the Node adapter: request-line forms, header fields, bodies framed by
 * Content-Length or chunked coding (extensions, trailers), requests split at every byte boundary and
 * pipelined requests in one chunk. Raw node:net clients send the bytes; the handler reflects what it saw.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "../src/index.js";
import {
  delay,
  exchange,
  header,
  MemoryListener,
  parseAll,
  RawClient,
  reflect,
  reflection,
  startServer,
  stopServer,
} from "./fixtures/http/harness.js";

describe("HTTP request parsing", { timeout: 120_000 }, () => {
  let server: Server;
  before(async () => {
    server = await startServer(reflect);
  });
  after(() => stopServer(server));

  async function one(request: string): Promise<ReturnType<typeof reflection>> {
    const responses = await exchange(server.port, request);
    assert.equal(responses.length, 1, "one response");
    return reflection(responses[0]!);
  }

  async function refusal(request: string | Uint8Array): Promise<number> {
    const responses = await exchange(server.port, request);
    assert.equal(responses.length, 1, `one response to ${JSON.stringify(String(request))}`);
    assert.equal(header(responses[0]!, "connection"), "close");
    return responses[0]!.status;
  }

  describe("request line", () => {
    it("accepts origin-form and gives the raw target", async () => {
      const seen = await one("GET /a/b%20c?x=1&y=%2F HTTP/1.1\r\nHost: example.test:8080\r\n\r\n");
      assert.equal(seen.method, "GET");
      assert.equal(seen.url, "http://example.test:8080/a/b%20c?x=1&y=%2F");
      assert.equal(seen.target, "/a/b%20c?x=1&y=%2F");
    });

    it("accepts absolute-form, taking the authority from the target", async () => {
      const seen = await one("GET http://other.test:81/p?q HTTP/1.1\r\nHost: other.test:81\r\n\r\n");
      assert.equal(seen.url, "http://other.test:81/p?q");
      assert.equal(seen.target, "http://other.test:81/p?q");
    });

    it("refuses userinfo in an absolute-form target (RFC 9110 §4.2.4)", async () => {
      assert.equal(await refusal("GET http://user:pass@other.test/p HTTP/1.1\r\nHost: other.test\r\n\r\n"), 400);
    });

    it("accepts asterisk-form for OPTIONS only", async () => {
      const seen = await one("OPTIONS * HTTP/1.1\r\nHost: h.test\r\n\r\n");
      assert.equal(seen.method, "OPTIONS");
      assert.equal(seen.target, "*");
      assert.equal(seen.url, "http://h.test/*");
      assert.equal(await refusal("GET * HTTP/1.1\r\nHost: h.test\r\n\r\n"), 400);
    });

    it("passes extension methods through and keeps their case", async () => {
      assert.equal((await one("PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n")).method, "PROPFIND");
      // Methods are case-sensitive (RFC 9110 §9.1); fetch's Request upper-cases only the six standard ones.
      assert.equal((await one("patch /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")).method, "patch");
    });

    it("ignores empty lines before the request line (RFC 9112 §2.2)", async () => {
      assert.equal((await one("\r\n\r\nGET /after-blank HTTP/1.1\r\nHost: h\r\n\r\n")).target, "/after-blank");
    });

    it("accepts HTTP/1.0 without Host", async () => {
      const seen = await one("GET /old HTTP/1.0\r\n\r\n");
      assert.equal(new URL(seen.url).pathname, "/old");
      assert.equal(new URL(seen.url).port, String(server.port));
    });

    it("refuses malformed request lines with 400", async () => {
      for (const line of [
        "GET /a  HTTP/1.1", // two spaces
        "GET  /a HTTP/1.1",
        "GET /a HTTP/1.1 ", // trailing space
        "GET /a\tb HTTP/1.1",
        "GET /a HTTP/1",
        "GET /a http/1.1",
        "GET /a",
        "G(T /a HTTP/1.1",
        " GET /a HTTP/1.1",
        "GET /a\x7f HTTP/1.1",
        "GET noslash HTTP/1.1",
      ]) {
        assert.equal(await refusal(`${line}\r\nHost: h\r\n\r\n`), 400, JSON.stringify(line));
      }
    });
  });

  describe("header fields", () => {
    it("lower-cases names, trims optional whitespace, keeps order and combines repeats", async () => {
      const seen = await one(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Mixed-CASE:   padded value \t\r\nX-Empty:\r\nAccept: a\r\nAccept: b\r\nX-Inner:  a  b  \r\n\r\n",
      );
      const headers = new Map(seen.headers);
      assert.equal(headers.get("x-mixed-case"), "padded value");
      assert.equal(headers.get("x-empty"), "");
      assert.equal(headers.get("accept"), "a, b");
      assert.equal(headers.get("x-inner"), "a  b");
    });

    it("keeps obs-text bytes of a field value as Latin-1 characters", async () => {
      const responses = await exchange(server.port, Buffer.from("GET / HTTP/1.1\r\nHost: h\r\nX-Latin: caf\xe9\r\n\r\n", "latin1"));
      assert.equal(responses.length, 1);
      assert.equal(new Map(reflection(responses[0]!).headers).get("x-latin"), "caf\xe9");
    });

    it("keeps the bytes of UTF-8 text in a field value as one Latin-1 character each", async () => {
      const utf8 = Buffer.from("GET / HTTP/1.1\r\nHost: h\r\nX-Utf8: caf\u00e9 \u{1F600}\r\n\r\n", "utf8");
      const responses = await exchange(server.port, utf8);
      assert.equal(responses.length, 1);
      assert.equal(new Map(reflection(responses[0]!).headers).get("x-utf8"), Buffer.from("caf\u00e9 \u{1F600}", "utf8").toString("latin1"));
    });

    it("refuses bad field lines with 400", async () => {
      for (const field of [
        "Bad Name: x", // space inside the name
        "X-Space : x", // whitespace before the colon (RFC 9112 §5.1)
        "NoColon",
        ": no-name",
        "X-Ctl: a\x01b",
        "X-Nul: a\x00b",
        "X-CR: a\rb",
      ]) {
        assert.equal(await refusal(`GET / HTTP/1.1\r\nHost: h\r\n${field}\r\n\r\n`), 400, JSON.stringify(field));
      }
      assert.equal(await refusal("GET / HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n  folded\r\n\r\n"), 400, "obs-fold");
    });

    it("refuses bare LF line endings with 400", async () => {
      assert.equal(await refusal("GET / HTTP/1.1\nHost: h\n\n"), 400);
    });
  });

  describe("bodies", () => {
    it("reads a Content-Length body", async () => {
      const seen = await one("POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world");
      assert.equal(seen.body, "hello world");
    });

    it("reads a chunked body with extensions and trailers", async () => {
      const seen = await one(
        "POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
          '5;name=value;quoted="a;b"\r\nhello\r\n' +
          "1 ; spaced\r\n \r\n" +
          "A\r\n0123456789\r\n" +
          "0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n",
      );
      assert.equal(seen.body, "hello 0123456789");
      assert.ok(!seen.headers.some(([name]) => name === "x-trailer"), "trailers are not merged into the header fields");
    });

    it("accepts Transfer-Encoding: chunked in any case and upper-case hex sizes", async () => {
      const seen = await one("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\nF\r\n0123456789abcde\r\n0\r\n\r\n");
      assert.equal(seen.body, "0123456789abcde");
    });

    it("refuses malformed chunked framing with 400", async () => {
      for (const body of [
        "2;\r\nab\r\n0\r\n\r\n",
        "2 \r\nab\r\n0\r\n\r\n",
        '2;a="open\r\nab\r\n0\r\n\r\n',
        "2;a b\r\nab\r\n0\r\n\r\n",
        "zz\r\nab\r\n0\r\n\r\n",
        "2\r\nabc\r\n0\r\n\r\n",
        "2\r\nab0\r\n\r\n",
        "-2\r\nab\r\n0\r\n\r\n",
        "2\nab\r\n0\r\n\r\n",
      ]) {
        const status = await refusal(`POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
        assert.equal(status, 400, JSON.stringify(body));
      }
    });

    it("ignores a body on GET for the handler but still skips it on the wire", async () => {
      const responses = await exchange(
        server.port,
        "GET /with-body HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcdGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
      );
      assert.deepEqual(
        responses.map((response) => reflection(response).target),
        ["/with-body", "/next"],
      );
    });
  });

  describe("pipelining and arbitrary splits", () => {
    const pipeline =
      "POST /one HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-Field: x\r\n\r\n" +
      "GET /two?x=y HTTP/1.1\r\nHost: h\r\nX-Header: value\r\n\r\n" +
      "PUT /three HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nfghij" +
      "GET /four HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    const expected = [
      ["/one", "abcde"],
      ["/two?x=y", ""],
      ["/three", "fghij"],
      ["/four", ""],
    ];

    function check(responses: ReturnType<typeof parseAll>, what: string): void {
      assert.deepEqual(
        responses.map((response) => {
          const seen = reflection(response);
          return [seen.target, seen.body];
        }),
        expected,
        what,
      );
    }

    it("answers pipelined requests sent in one chunk, in order", async () => {
      check(await exchange(server.port, pipeline, { end: false }), "one chunk");
    });

    it("parses the same requests split at every byte boundary", async () => {
      const listener = new MemoryListener();
      const memoryServer = await startServer(reflect, { listen: listener.listen });
      try {
        const bytes = Buffer.from(pipeline, "latin1");
        for (let split = 1; split < bytes.length; split++) {
          const output = await listener.connect([bytes.subarray(0, split), bytes.subarray(split)]);
          check(parseAll(output), `split at byte ${split}`);
        }
        for (const size of [1, 2, 3, 7]) {
          const pieces: Uint8Array[] = [];
          for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
          check(parseAll(await listener.connect(pieces)), `pieces of ${size} bytes`);
        }
      } finally {
        await stopServer(memoryServer);
      }
    });

    it("parses a request that arrives over TCP one byte at a time", async () => {
      const client = await RawClient.connect(server.port);
      try {
        const bytes = Buffer.from(
          "POST /slow HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nbody\r\n0\r\nT: 1\r\n\r\n",
          "latin1",
        );
        for (const byte of bytes) {
          await client.write(Buffer.of(byte));
          await delay(1);
        }
        const seen = reflection(await client.response());
        assert.deepEqual([seen.target, seen.body], ["/slow", "body"]);
      } finally {
        client.destroy();
      }
    });
  });
});
