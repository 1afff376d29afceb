/**
 * Real HTTP/2 clients against serve() on Node, h2c with prior knowledge on the same port as HTTP/1.1: curl, nghttp,
 * h2load, Node's http2 and Python's h2 library (each skipped when not installed).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, type Server } from "../src/index.js";
import { listen } from "../src/sockets/index.js";
import type { TCPServerSocket, TCPSocket } from "../src/sockets/types.js";
import { loadTlsCredentials } from "../src/tls/credentials.js";
import { tlsSocket } from "../src/tls/socket.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import { missingClients, pythonWithH2 } from "./fixtures/clients.js";

const has = (command: string, args = ["--version"]) => spawnSync(command, args, { stdio: "ignore" }).status === 0;
const CURL = has("curl");
const NGHTTP = has("nghttp");
const H2LOAD = has("h2load");
const PYTHON = pythonWithH2();

function run(command: string, args: string[], input?: string): Promise<{ status: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
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
    child.stdin.end(input);
  });
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("HTTP/2 clients (h2c prior knowledge on serve())", { timeout: 300_000 }, () => {
  let server: Server;
  let base: string;
  let dir: string;
  let big: Buffer;
  let bigFile: string;
  const aborted: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "browser-httpd-h2-"));
    big = randomBytes(10 * 1024 * 1024);
    bigFile = join(dir, "big.bin");
    writeFileSync(bigFile, big);
    server = serve({
      port: 0,
      // The Node session below stays open between its cases.
      idleTimeout: 120_000,
      async fetch(request) {
        const url = new URL(request.url);
        switch (url.pathname) {
          case "/echo":
            // Streams the request body back as it arrives: backpressure both ways.
            return new Response(request.body, { headers: { "content-type": "application/octet-stream" } });
          case "/sha":
            return new Response(sha(new Uint8Array(await request.arrayBuffer())));
          case "/stream":
            return new Response(
              new ReadableStream({
                async start(controller) {
                  for (let i = 0; i < 5; i++) {
                    controller.enqueue(new TextEncoder().encode(`part ${i}\n`));
                    await new Promise((resolve) => setTimeout(resolve, 5));
                  }
                  controller.close();
                },
              }),
            );
          case "/hang":
            await new Promise<void>((resolve) =>
              request.signal.addEventListener("abort", () => {
                aborted.push(url.searchParams.get("id") ?? "");
                resolve();
              }),
            );
            return new Response("never seen");
          case "/headers":
            return new Response(JSON.stringify(Object.fromEntries(request.headers)), {
              headers: { "content-type": "application/json", "set-cookie": "a=1", "x-custom": "yes" },
            });
          default:
            return new Response(`hello ${request.method} ${url.pathname}${url.search}`);
        }
      },
    });
    await server.ready();
    base = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.close(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it("HTTP/1.1 on the same port is unchanged", async () => {
    const response = await fetch(`${base}/one?x=1`);
    assert.equal(await response.text(), "hello GET /one?x=1");
  });

  it("curl --http2-prior-knowledge: GET, headers both ways, a streamed response", { skip: !CURL }, async () => {
    const get = await run("curl", ["-sS", "--http2-prior-knowledge", "-D", "-", `${base}/a?b=c`]);
    assert.equal(get.status, 0, get.stderr);
    const text = get.stdout.toString();
    assert.match(text, /^HTTP\/2 200/);
    assert.match(text, /content-length: 16/);
    assert.match(text, /hello GET \/a\?b=c$/);
    const headers = await run("curl", ["-sS", "--http2-prior-knowledge", "-D", "-", "-H", "x-test: 1", "-b", "k=v", `${base}/headers`]);
    assert.match(headers.stdout.toString(), /set-cookie: a=1/);
    const seen = JSON.parse(headers.stdout.toString().split("\r\n\r\n")[1]!);
    assert.equal(seen["x-test"], "1");
    assert.equal(seen.cookie, "k=v");
    assert.equal(seen.host, undefined, "HTTP/2 carries :authority, not Host");
    const stream = await run("curl", ["-sS", "--http2-prior-knowledge", `${base}/stream`]);
    assert.equal(stream.stdout.toString(), "part 0\npart 1\npart 2\npart 3\npart 4\n");
  });

  it("curl --http2-prior-knowledge: POST of 10 MiB echoed back, and its digest", { skip: !CURL }, async () => {
    const echo = await run("curl", ["-sS", "--http2-prior-knowledge", "--data-binary", `@${bigFile}`, `${base}/echo`]);
    assert.equal(echo.status, 0, echo.stderr);
    assert.equal(echo.stdout.length, big.length);
    assert.equal(sha(echo.stdout), sha(big));
    const digest = await run("curl", ["-sS", "--http2-prior-knowledge", "--data-binary", `@${bigFile}`, `${base}/sha`]);
    assert.equal(digest.stdout.toString(), sha(big));
  });

  it("curl --http2-prior-knowledge: 20 requests in parallel", { skip: !CURL }, async () => {
    // Each on a connection of its own: curl 7.88 fails multiplexed transfers with prior knowledge ("Error in the
    // HTTP2 framing layer", against node:http2 as well); multiplexing is exercised by nghttp, h2load and Node below.
    const urls = Array.from({ length: 20 }, (_, i) => `${base}/p${i}`);
    const result = await run("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "--parallel",
      "--parallel-immediate",
      "--parallel-max",
      "20",
      "-w",
      "\\n%{http_version}\\n",
      ...urls,
    ]);
    assert.equal(result.status, 0, result.stderr);
    const text = result.stdout.toString();
    for (let i = 0; i < 20; i++) assert.ok(text.includes(`hello GET /p${i}`), `response ${i}`);
    const versions = text.match(/^\d+$/gm) ?? [];
    assert.deepEqual(versions, Array(20).fill("2"));
  });

  it("nghttp: GET with its SETTINGS/PING/WINDOW_UPDATE exchange, and an upload", { skip: !NGHTTP }, async () => {
    const get = await run("nghttp", ["-nv", `${base}/nghttp`]);
    assert.equal(get.status, 0, get.stderr);
    const log = get.stdout.toString();
    assert.match(log, /recv SETTINGS frame/);
    assert.match(log, /recv \(stream_id=13\) :status: 200/);
    const body = await run("nghttp", [`${base}/nghttp-body`]);
    assert.equal(body.stdout.toString(), "hello GET /nghttp-body");
    const upload = await run("nghttp", ["-d", bigFile, `${base}/sha`]);
    assert.equal(upload.stdout.toString(), sha(big));
    const multiple = await run("nghttp", [`${base}/m1`, `${base}/m2`, `${base}/m3`]);
    const text = multiple.stdout.toString();
    for (const path of ["/m1", "/m2", "/m3"]) assert.ok(text.includes(`hello GET ${path}`));
  });

  it("h2load -n 2000 -c 4 -m 10: every request succeeds", { skip: !H2LOAD }, async () => {
    const result = await run("h2load", ["-n", "2000", "-c", "4", "-m", "10", `${base}/hello`]);
    assert.equal(result.status, 0, result.stderr);
    const text = result.stdout.toString();
    assert.match(text, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout/);
    assert.match(text, /status codes: 2000 2xx/);
  });

  it("h2load with uploads: -n 200 -c 2 -m 10 with a 64 KiB body each", { skip: !H2LOAD }, async () => {
    const file = join(dir, "small.bin");
    writeFileSync(file, randomBytes(64 * 1024));
    const result = await run("h2load", ["-n", "200", "-c", "2", "-m", "10", "-d", file, `${base}/sha`]);
    assert.match(result.stdout.toString(), /200 succeeded, 0 failed, 0 errored/);
  });

  describe("Node's http2.connect", () => {
    let session: http2.ClientHttp2Session;
    before(() => {
      session = http2.connect(base);
    });
    after(() => session?.close());

    function request(
      headers: http2.OutgoingHttpHeaders,
      body?: Uint8Array,
    ): Promise<{ status: number; body: Buffer; headers: http2.IncomingHttpHeaders }> {
      return new Promise((resolve, reject) => {
        const stream = session.request(headers);
        const chunks: Buffer[] = [];
        let responseHeaders: http2.IncomingHttpHeaders = {};
        stream.on("response", (h) => (responseHeaders = h));
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () =>
          resolve({ status: Number(responseHeaders[":status"]), body: Buffer.concat(chunks), headers: responseHeaders }),
        );
        stream.on("error", reject);
        stream.end(body);
      });
    }

    it("GET and HEAD", async () => {
      const get = await request({ ":path": "/node?q=1" });
      assert.equal(get.status, 200);
      assert.equal(get.body.toString(), "hello GET /node?q=1");
      const head = await request({ ":path": "/node", ":method": "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers["content-length"], "16");
    });

    it("100 streams at once on one session, with bodies", async () => {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => request({ ":path": "/sha", ":method": "POST" }, Buffer.from(`body ${i}`))),
      );
      for (const [i, result] of results.entries()) assert.equal(result.body.toString(), sha(Buffer.from(`body ${i}`)));
    });

    it("a 10 MiB streamed echo, written in pieces", async () => {
      const stream = session.request({ ":path": "/echo", ":method": "POST" });
      const chunks: Buffer[] = [];
      const done = new Promise<void>((resolve, reject) => {
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", resolve);
        stream.on("error", reject);
      });
      for (let offset = 0; offset < big.length; offset += 256 * 1024) {
        if (!stream.write(big.subarray(offset, offset + 256 * 1024))) await new Promise((resolve) => stream.once("drain", resolve));
      }
      stream.end();
      await done;
      assert.equal(sha(Buffer.concat(chunks)), sha(big));
    });

    it("cancelling a stream aborts request.signal in the handler", async () => {
      const stream = session.request({ ":path": "/hang?id=node-cancel" });
      stream.on("error", () => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      stream.close(http2.constants.NGHTTP2_CANCEL);
      for (let i = 0; i < 500 && !aborted.includes("node-cancel"); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(aborted.includes("node-cancel"));
      assert.equal((await request({ ":path": "/after" })).body.toString(), "hello GET /after");
    });
  });

  it("Python's h2: a request, then a PING and its ACK, driven frame by frame", { skip: missingClients("python3-h2") }, async () => {
    const script = `
import socket, sys, h2.connection, h2.config, h2.events
s = socket.create_connection(("127.0.0.1", ${server.port}))
s.settimeout(10)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":path", "/py"), (":scheme", "http"), (":authority", "localhost")], end_stream=True)
c.ping(b"12345678")
s.sendall(c.data_to_send())
body = b""; status = None; ponged = False; ended = False
while not (ended and ponged):
    data = s.recv(65535)
    if not data: break
    for e in c.receive_data(data):
        if isinstance(e, h2.events.ResponseReceived): status = dict(e.headers)[b":status"]
        if isinstance(e, h2.events.DataReceived):
            body += e.data; c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        if isinstance(e, h2.events.StreamEnded): ended = True
        if isinstance(e, h2.events.PingAckReceived): ponged = e.ping_data == b"12345678"
    s.sendall(c.data_to_send())
print(status.decode(), body.decode(), ponged)
`;
    const result = await run(PYTHON!, ["-c", script]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.toString().trim(), "200 hello GET /py True");
  });

  it("the server counts HTTP/2 requests like HTTP/1.1 ones", () => {
    assert.ok(server.stats.requests > 2000);
    assert.equal(readFileSync(bigFile).length, big.length);
  });

  it("h2 over TLS by ALPN (the TLS wrapper offering h2): curl --http2 and Node's http2.connect", async () => {
    const pair = await createSelfSignedCertificate();
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, pair.certificatePem);
    const credentials = await loadTlsCredentials({ cert: pair.certificatePem, key: pair.privateKeyPem });
    // serve()'s listening socket with each accepted socket wrapped in TLS offering h2 first.
    const secure = serve({
      port: 0,
      fetch: (request) => new Response(`secure ${request.url}`),
      async listen(hostname, options): Promise<TCPServerSocket> {
        const inner = await listen(hostname, options);
        const opened = await inner.opened;
        const wrap = new TransformStream<TCPSocket, TCPSocket>({
          transform: (socket, controller) => controller.enqueue(tlsSocket(socket, { credentials, alpnProtocols: ["h2", "http/1.1"] })),
        });
        return {
          opened: Promise.resolve({ ...opened, readable: opened.readable.pipeThrough(wrap) }),
          closed: inner.closed,
          close: () => inner.close(),
        };
      },
    });
    await secure.ready();
    try {
      const origin = `https://localhost:${secure.port}`;
      if (CURL) {
        const result = await run("curl", ["-sS", "--http2", "--cacert", caFile, "-w", "\\n%{http_version}", `${origin}/tls`]);
        assert.equal(result.status, 0, result.stderr);
        assert.equal(result.stdout.toString(), `secure ${origin}/tls\n2`);
        const http1 = await run("curl", ["-sS", "--http1.1", "--cacert", caFile, "-w", "\\n%{http_version}", `${origin}/one`]);
        assert.equal(http1.stdout.toString(), `secure ${origin}/one\n1.1`);
      }
      const session = http2.connect(origin, { ca: pair.certificatePem });
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const stream = session.request({ ":path": "/node-tls" });
          let text = "";
          stream.setEncoding("utf8");
          stream.on("data", (chunk: string) => (text += chunk));
          stream.on("end", () => resolve(text));
          stream.on("error", reject);
        });
        assert.equal(body, `secure ${origin}/node-tls`);
        assert.equal((session.socket as import("node:tls").TLSSocket).alpnProtocol, "h2");
      } finally {
        session.close();
      }
    } finally {
      await secure.close(true);
    }
  });
});
