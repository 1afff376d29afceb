/**
 * RFC 6455 / RFC 7692 conformance with raw frames against the server on Node: the shared cases
 * (fixtures/websocket/protocol-cases.ts, also run against Chromium, Deno and Bun) on the demo routes, and the
 * cases that need a server with other settings or handlers, or a mocked web API in this process.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { RawClient, closePayload, compressForWire, inflateWire, type Frame } from "./fixtures/websocket/raw-client.js";
import { expectClose, runProtocolCases, withTimeout } from "./fixtures/websocket/protocol-cases.js";
import { startServer, type TestServer } from "./fixtures/websocket/server.js";
import { upgradeWebSocket, upgradeWebSocketStream } from "../src/websocket/index.js";
import { maxCompressedPayloadLength } from "../src/websocket/deflate.js";

let echo: TestServer;
before(async () => {
  echo = await startServer();
});
after(async () => {
  await echo.stop();
});

describe("the demo routes on Node", () => {
  runProtocolCases(() => ({ port: echo.port, runtime: "node" }));
});

test("handshake: the accept header is base64(SHA-1(key + GUID)) in the Bun, Deno and stream styles", async () => {
  const server = await startServer({}, (request, bunStyle) => {
    const path = new URL(request.url).pathname;
    if (path === "/deno") return upgradeWebSocket(request).response;
    if (path === "/stream") return upgradeWebSocketStream(request).response;
    return bunStyle.upgrade(request, { data: { route: "echo" } }) ? undefined : new Response("not an upgrade", { status: 400 });
  });
  try {
    for (const path of ["/bun", "/deno", "/stream"]) {
      for (const key of ["AQIDBAUGBwgJCgsMDQ4PEA==", "x3JJHMbDL1EzLkh9GBhXDw==", "/////////////////////w=="]) {
        const expected = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
        const client = await RawClient.connect(server.port, path, { "Sec-WebSocket-Key": key });
        assert.equal(client.status, 101, `${path} ${key}`);
        assert.equal(client.header("sec-websocket-accept"), expected, `${path} ${key}`);
        client.destroy();
      }
    }
  } finally {
    await server.stop();
  }
});

test("handshake: a failing SHA-1 digest gives a 500 and a closed connection, and the server keeps serving", async (t) => {
  const digest = t.mock.method(crypto.subtle, "digest", () => Promise.reject(new Error("no SHA-1 here")));
  const failed = await RawClient.connect(echo.port, "/ws");
  try {
    assert.equal(failed.status, 500);
    assert.equal(failed.header("connection"), "close");
    await withTimeout(failed.closed, "connection closed after the 500");
  } finally {
    failed.destroy();
  }
  digest.mock.restore();
  const client = await RawClient.connect(echo.port, "/ws");
  assert.equal(client.status, 101);
  client.send(0x8, closePayload(1000));
  await expectClose(client, 1000);
});

test("handshake: when the 101 cannot be written, the Deno-style socket and the stream report an abnormal close", async (t) => {
  const denoEvents: string[] = [];
  const streams: ReturnType<typeof upgradeWebSocketStream>["stream"][] = [];
  const server = await startServer({}, (request) => {
    if (new URL(request.url).pathname === "/deno") {
      const { socket, response } = upgradeWebSocket(request);
      socket.onopen = () => denoEvents.push("open");
      socket.onerror = () => denoEvents.push(`error, readyState ${socket.readyState}`);
      socket.onclose = (event) => {
        const { code, wasClean } = event as unknown as { code: number; wasClean: boolean };
        denoEvents.push(`close ${code} ${wasClean}, readyState ${socket.readyState}`);
      };
      return response;
    }
    const { stream, response } = upgradeWebSocketStream(request);
    streams.push(stream);
    return response;
  });
  const digest = t.mock.method(crypto.subtle, "digest", () => Promise.reject(new Error("no SHA-1 here")));
  try {
    const denoClient = await RawClient.connect(server.port, "/deno");
    assert.equal(denoClient.status, 500);
    denoClient.destroy();
    for (let turn = 0; turn < 100 && denoEvents.length < 2; turn++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(denoEvents, ["error, readyState 3", "close 1006 false, readyState 3"]);

    const streamClient = await RawClient.connect(server.port, "/stream");
    assert.equal(streamClient.status, 500);
    streamClient.destroy();
    await assert.rejects(withTimeout(streams[0]!.opened, "stream opened settles"), /abnormally \(code 1006\)/);
    await assert.rejects(withTimeout(streams[0]!.closed, "stream closed settles"), /abnormally/);
  } finally {
    digest.mock.restore();
    await server.stop();
  }
});

test("handshake: origin allowlist and subprotocol selection", async () => {
  const server = await startServer({ origins: ["http://good.example"], protocols: ["chat.v2", "chat.v1"] });
  try {
    const bad = await RawClient.connect(server.port, "/ws", { Origin: "http://evil.example" });
    assert.notEqual(bad.status, 101);
    bad.destroy();
    const good = await RawClient.connect(server.port, "/ws", {
      Origin: "http://good.example",
      "Sec-WebSocket-Protocol": "chat.v1, chat.v2",
    });
    assert.equal(good.status, 101);
    assert.equal(good.header("sec-websocket-protocol"), "chat.v2");
    good.destroy();
    const none = await RawClient.connect(server.port, "/ws", { Origin: "http://good.example", "Sec-WebSocket-Protocol": "other" });
    assert.equal(none.status, 101);
    assert.equal(none.header("sec-websocket-protocol"), undefined);
    none.destroy();
  } finally {
    await server.stop();
  }
});

test("limits: a configured maxPayloadLength closes with 1009, in one frame or many", async () => {
  const server = await startServer({ maxPayloadLength: 1000 });
  try {
    const ok = await RawClient.connect(server.port);
    ok.send(0x2, Buffer.alloc(1000));
    assert.equal((await ok.nextFrame())?.payload.length, 1000);
    ok.destroy();
    const single = await RawClient.connect(server.port);
    single.send(0x2, Buffer.alloc(1001));
    await expectClose(single, 1009);
    const fragmented = await RawClient.connect(server.port);
    for (let i = 0; i < 3; i++) fragmented.send(i === 0 ? 0x1 : 0x0, Buffer.alloc(400, 0x61), { fin: false });
    await expectClose(fragmented, 1009);
  } finally {
    await server.stop();
  }
});

/**
 * `data` as a permessage-deflate payload of `count` non-final stored blocks (5 header bytes each), ending with the
 * first byte of the empty block that the receiver's 00 00 ff ff completes (RFC 7692 section 7.2.2).
 */
function storedBlocks(data: Buffer, count: number): Buffer {
  const pieces: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const piece = data.subarray(Math.floor((i * data.length) / count), Math.floor(((i + 1) * data.length) / count));
    const header = Buffer.alloc(5);
    header.writeUInt16LE(piece.length, 1);
    header.writeUInt16LE(~piece.length & 0xffff, 3);
    pieces.push(header, piece);
  }
  pieces.push(Buffer.of(0));
  return Buffer.concat(pieces);
}

test("limits: with permessage-deflate, maxPayloadLength bounds the inflated message and maxCompressedPayloadLength the wire, each to the byte", async () => {
  const limit = 64 * 1024;
  const wireLimit = maxCompressedPayloadLength(limit);
  const server = await startServer({ maxPayloadLength: limit });
  const deflate = { "Sec-WebSocket-Extensions": "permessage-deflate" };
  try {
    // Exactly wireLimit bytes on the wire, at most limit once inflated: the data cut into many small stored blocks.
    const blockCount = Math.ceil((wireLimit - 1 - limit) / 5);
    const data = randomBytes(wireLimit - 1 - 5 * blockCount);
    const payload = storedBlocks(data, blockCount);
    assert.equal(payload.length, wireLimit);
    assert.ok(inflateWire(payload).equals(data), "the payload inflates to the data");
    const widest = await RawClient.connect(server.port, "/ws", deflate);
    widest.send(0x2, payload, { rsv: 4 });
    const echo = await widest.nextFrame();
    assert.equal(
      echo?.opcode,
      0x2,
      `echo of the widest compressed message: ${echo?.opcode === 0x8 ? `closed ${echo.payload.readUInt16BE(0)}` : "none"}`,
    );
    assert.ok((echo.rsv === 4 ? inflateWire(echo.payload) : echo.payload).equals(data));
    widest.destroy();

    // One byte more on the wire, of data that is no deflate stream: refused from the length (1009), not inflated (1007).
    const wider = await RawClient.connect(server.port, "/ws", deflate);
    wider.send(0x2, Buffer.alloc(wireLimit + 1, 0xff), { rsv: 4 });
    await expectClose(wider, 1009);

    // The largest message compressed, and one byte more, both well within the wire limit: the inflated size decides.
    const largest = await RawClient.connect(server.port, "/ws", deflate);
    const message = randomBytes(limit);
    largest.send(0x2, compressForWire(message), { rsv: 4 });
    const largestEcho = await largest.nextFrame();
    assert.ok(
      largestEcho && (largestEcho.rsv === 4 ? inflateWire(largestEcho.payload) : largestEcho.payload).equals(message),
      "echo of the largest message",
    );
    largest.send(0x2, compressForWire(randomBytes(limit + 1)), { rsv: 4 });
    await expectClose(largest, 1009);
  } finally {
    await server.stop();
  }
});

test("keepalive: a peer that never answers pings is dropped", async () => {
  const server = await startServer({ idleTimeout: 100 });
  try {
    const client = await RawClient.connect(server.port);
    const ping = await client.nextFrame();
    assert.equal(ping?.opcode, 0x9);
    // Not answering: the server gives up on us.
    let frame: Frame | undefined;
    while ((frame = await client.nextFrame())) assert.equal(frame.opcode, 0x9);
    await client.waitClosed();
    const answering = await RawClient.connect(server.port);
    for (let i = 0; i < 3; i++) {
      const next = await answering.nextFrame();
      assert.equal(next?.opcode, 0x9, "still open, pinged again");
      answering.send(0xa, next!.payload);
    }
    answering.destroy();
  } finally {
    await server.stop();
  }
});
