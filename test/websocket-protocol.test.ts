/**
 * RFC 6455 / RFC 7692 conformance with raw frames over node:net, modelled on the Autobahn test-suite
 * sections: framing, ping/pong, reserved bits, opcodes, fragmentation, UTF-8, close, limits, compression.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { deflateRawSync, inflateRawSync, constants } from "node:zlib";
import { createHash } from "node:crypto";
import { RawClient, closePayload, echoOfFinalBlockMessage, encodeClientFrame, FINAL_BLOCK_TEXT } from "./fixtures/websocket/raw-client.js";
import { startServer, type TestServer } from "./fixtures/websocket/server.js";
import { upgradeWebSocket, upgradeWebSocketStream } from "../src/websocket/index.js";

let echo: TestServer;
before(async () => {
  echo = await startServer();
});
after(async () => {
  await echo.stop();
});

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), 10_000)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function expectClose(client: RawClient, code: number): Promise<void> {
  try {
    const closing = await client.closeFrame();
    assert.equal(closing.code, code, `close code (reason: ${closing.reason})`);
  } finally {
    client.destroy();
  }
}

test("handshake: 101 with the RFC 6455 accept value", async () => {
  const client = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" });
  assert.equal(client.status, 101);
  assert.equal(client.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  assert.match(client.header("upgrade") ?? "", /websocket/i);
  client.send(0x8, closePayload(1000));
  await expectClose(client, 1000);
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

test("handshake refusals: version, key, method, missing headers", async () => {
  const version = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Version": "8" });
  assert.equal(version.status, 426);
  assert.equal(version.header("sec-websocket-version"), "13");
  version.destroy();
  for (const key of ["short", "dGhlIHNhbXBsZSBub25jZQ", "AAAAAAAAAAAAAAAAAAAAAAAA", ""]) {
    const client = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Key": key });
    assert.equal(client.status, 426, `key ${JSON.stringify(key)}`);
    client.destroy();
  }
  const noUpgrade = await RawClient.connect(echo.port, "/ws", { Upgrade: "" });
  assert.equal(noUpgrade.status, 426);
  noUpgrade.destroy();
  const tokenList = await RawClient.connect(echo.port, "/ws", { Connection: "keep-alive, Upgrade" });
  assert.equal(tokenList.status, 101);
  tokenList.destroy();
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

test("framing: 7-, 16- and 64-bit lengths echo, text and binary", async () => {
  const client = await RawClient.connect(echo.port);
  for (const size of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) {
    for (const opcode of [0x1, 0x2]) {
      const payload = Buffer.alloc(size, "x");
      client.send(opcode, payload);
      const frame = await client.nextFrame();
      assert.equal(frame?.opcode, opcode);
      assert.equal(frame?.fin, true);
      assert.ok(frame?.payload.equals(payload), `echo of ${size} bytes`);
    }
  }
  client.send(0x8, closePayload(1000));
  await expectClose(client, 1000);
});

test("framing: a frame split into single bytes, and many frames in one write", async () => {
  const client = await RawClient.connect(echo.port);
  const frame = encodeClientFrame(0x1, "byte by byte");
  for (const byte of frame) client.write(Buffer.from([byte]));
  assert.equal((await client.nextFrame())?.payload.toString(), "byte by byte");
  client.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeClientFrame(0x1, `m${i}`))));
  for (let i = 0; i < 50; i++) assert.equal((await client.nextFrame())?.payload.toString(), `m${i}`);
  client.destroy();
});

test("ping/pong: pong echoes the ping payload; unsolicited pongs are ignored", async () => {
  const client = await RawClient.connect(echo.port);
  for (const payload of ["", "hello", "x".repeat(125)]) {
    client.send(0x9, payload);
    const pong = await client.nextFrame();
    assert.equal(pong?.opcode, 0xa);
    assert.equal(pong?.payload.toString(), payload);
  }
  client.send(0xa, "unsolicited");
  client.send(0x1, "after pong");
  assert.equal((await client.nextFrame())?.payload.toString(), "after pong");
  client.send(0x9, "x".repeat(126));
  await expectClose(client, 1002);
});

test("reserved bits and opcodes: violations close with 1002", async () => {
  for (const rsv of [1, 2, 4, 7]) {
    const client = await RawClient.connect(echo.port);
    client.send(0x1, "rsv", { rsv });
    await expectClose(client, 1002);
  }
  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    const client = await RawClient.connect(echo.port);
    client.send(opcode, "op");
    await expectClose(client, 1002);
  }
});

test("masking: an unmasked client frame closes with 1002", async () => {
  const client = await RawClient.connect(echo.port);
  client.send(0x1, "plain", { mask: false });
  await expectClose(client, 1002);
});

test("fragmentation: fragments reassemble with control frames in between", async () => {
  const client = await RawClient.connect(echo.port);
  client.send(0x1, "frag", { fin: false });
  client.send(0x9, "ping in the middle");
  client.send(0x0, "men", { fin: false });
  client.send(0x0, "ted", { fin: true });
  const pong = await client.nextFrame();
  assert.equal(pong?.opcode, 0xa);
  assert.equal(pong?.payload.toString(), "ping in the middle");
  const message = await client.nextFrame();
  assert.equal(message?.payload.toString(), "fragmented");
  // Binary in many fragments, including empty ones.
  client.send(0x2, Buffer.from([1]), { fin: false });
  client.send(0x0, Buffer.alloc(0), { fin: false });
  client.send(0x0, Buffer.from([2, 3]), { fin: true });
  assert.deepEqual([...((await client.nextFrame())?.payload ?? [])], [1, 2, 3]);
  client.destroy();
});

test("fragmentation: a message in 20000 one-byte fragments, binary and compressed", async () => {
  const client = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Extensions": "permessage-deflate" });
  const message = Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 7) & 0xff));
  const frames = [...message].map((byte, i) => encodeClientFrame(i === 0 ? 0x2 : 0x0, Buffer.from([byte]), { fin: i === message.length - 1 }));
  client.write(Buffer.concat(frames));
  const binary = await client.nextFrame();
  assert.equal(binary?.rsv, 4);
  assert.ok(inflateWire(binary!.payload).equals(message));
  const wire = compressForWire(Buffer.from("fragmented and compressed ".repeat(100)));
  client.write(Buffer.concat([...wire].map((byte, i) => encodeClientFrame(i === 0 ? 0x1 : 0x0, Buffer.from([byte]), { fin: i === wire.length - 1, rsv: i === 0 ? 4 : 0 }))));
  const reply = await client.nextFrame();
  assert.equal(inflateWire(reply!.payload).toString(), "fragmented and compressed ".repeat(100));
  client.destroy();
});

test("fragmentation violations close with 1002", async () => {
  const cases: Array<(client: RawClient) => void> = [
    (c) => c.send(0x0, "continuation without a start"),
    (c) => {
      c.send(0x1, "start", { fin: false });
      c.send(0x1, "another start");
    },
    (c) => c.send(0x9, "fragmented ping", { fin: false }),
    (c) => {
      c.send(0x2, "start", { fin: false });
      c.send(0x0, "rsv on continuation", { rsv: 4 });
    },
  ];
  for (const violate of cases) {
    const client = await RawClient.connect(echo.port);
    violate(client);
    await expectClose(client, 1002);
  }
});

test("UTF-8: valid text (split inside characters across fragments) is accepted", async () => {
  const client = await RawClient.connect(echo.port);
  const text = "κόσμε – 𝄞 – \u{10FFFF}";
  const bytes = Buffer.from(text);
  for (let split = 1; split < bytes.length; split += 3) {
    client.send(0x1, bytes.subarray(0, split), { fin: false });
    client.send(0x0, bytes.subarray(split), { fin: true });
    assert.equal((await client.nextFrame())?.payload.toString(), text);
  }
  client.destroy();
});

test("UTF-8: invalid text closes with 1007", async () => {
  const invalid = [
    Buffer.from([0xc0, 0xaf]), // overlong
    Buffer.from([0xed, 0xa0, 0x80]), // surrogate
    Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
    Buffer.from([0xce, 0xba, 0xe1]), // truncated at the end
    Buffer.from([0xff]),
  ];
  for (const bytes of invalid) {
    const client = await RawClient.connect(echo.port);
    client.send(0x1, bytes);
    await expectClose(client, 1007);
  }
});

test("UTF-8: fails fast, before the message (or even the frame) is complete", async () => {
  const client = await RawClient.connect(echo.port);
  client.send(0x1, Buffer.from([0x61, 0xed, 0xa0, 0x80]), { fin: false });
  // The rest never comes: the server must not wait for it.
  await expectClose(client, 1007);

  const partial = await RawClient.connect(echo.port);
  const frame = encodeClientFrame(0x1, Buffer.concat([Buffer.from([0x61, 0xff]), Buffer.alloc(1000, 0x61)]));
  partial.write(frame.subarray(0, 20));
  await expectClose(partial, 1007);
});

test("close: echoes the code, closes TCP; empty close gets an empty close", async () => {
  for (const code of [1000, 1001, 1003, 1011, 3000, 4999]) {
    const client = await RawClient.connect(echo.port);
    client.send(0x8, closePayload(code, "reason"));
    await expectClose(client, code);
  }
  const empty = await RawClient.connect(echo.port);
  empty.send(0x8);
  const closing = await empty.closeFrame();
  assert.equal(closing.code, undefined);
  empty.destroy();
});

test("close: invalid codes, a 1-byte payload and a non-UTF-8 reason", async () => {
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
    const client = await RawClient.connect(echo.port);
    client.send(0x8, closePayload(code));
    await expectClose(client, 1002);
  }
  const oneByte = await RawClient.connect(echo.port);
  oneByte.send(0x8, Buffer.from([0x03]));
  await expectClose(oneByte, 1002);
  const badReason = await RawClient.connect(echo.port);
  badReason.send(0x8, Buffer.concat([closePayload(1000), Buffer.from([0xed, 0xa0, 0x80])]));
  await expectClose(badReason, 1007);
});

test("close: nothing is processed after the peer's close frame", async () => {
  const client = await RawClient.connect(echo.port);
  client.write(Buffer.concat([encodeClientFrame(0x8, closePayload(1000)), encodeClientFrame(0x1, "late")]));
  const closing = await client.closeFrame();
  assert.equal(closing.code, 1000);
  assert.equal(closing.frames.length, 1, "no echo of the message after the close frame");
  client.destroy();
});

test("limits: messages over maxPayloadLength close with 1009, in one frame or many", async () => {
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
    // A 64-bit length with the top bit set is a protocol error, not a huge message.
    const huge = await RawClient.connect(server.port);
    const header = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
    huge.write(header);
    await expectClose(huge, 1002);
  } finally {
    await server.stop();
  }
});

/** A permessage-deflate payload back to the message (RFC 7692 section 7.2.2). */
function inflateWire(payload: Buffer): Buffer {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
}

function compressForWire(data: Buffer): Buffer {
  const flushed = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
  return flushed.subarray(0, flushed.length - 4);
}

test("compression: a message ending with a final deflate block instead of a sync flush (RFC 7692 7.2.3.4)", async () => {
  assert.equal(await echoOfFinalBlockMessage(echo.port), FINAL_BLOCK_TEXT);
});

test("compression: negotiation answers no context takeover and honours server_max_window_bits", async () => {
  const plain = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Extensions": "x-unknown, permessage-deflate; client_max_window_bits" });
  assert.equal(plain.header("sec-websocket-extensions"), "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  plain.destroy();
  const windowed = await RawClient.connect(echo.port, "/ws", {
    "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=10",
  });
  assert.equal(
    windowed.header("sec-websocket-extensions"),
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10",
  );
  // Compressible, and bigger than the 1 KiB window: it must come back uncompressed.
  windowed.send(0x1, "a".repeat(5000));
  const big = await windowed.nextFrame();
  assert.equal(big?.rsv, 0);
  assert.equal(big?.payload.length, 5000);
  windowed.send(0x1, "b".repeat(1024));
  const small = await windowed.nextFrame();
  assert.equal(small?.rsv, 4, "a message within the window is compressed");
  windowed.destroy();
  const bad = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Extensions": "permessage-deflate; unknown_param" });
  assert.equal(bad.header("sec-websocket-extensions"), undefined);
  bad.destroy();
});

test("compression: compressed and fragmented compressed messages, threshold, RSV1 rules", async () => {
  const client = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Extensions": "permessage-deflate" });
  const text = "compress me ".repeat(500);
  client.send(0x1, compressForWire(Buffer.from(text)), { rsv: 4 });
  const reply = await client.nextFrame();
  assert.equal(reply?.rsv, 4, "echo is compressed");
  const inflated = inflateWire(reply!.payload);
  assert.equal(inflated.toString(), text);
  const wire = compressForWire(Buffer.from(text));
  client.send(0x1, wire.subarray(0, 10), { rsv: 4, fin: false });
  client.send(0x0, wire.subarray(10), { fin: true });
  assert.equal((await client.nextFrame())?.rsv, 4);
  client.send(0x1, "short");
  const short = await client.nextFrame();
  assert.equal(short?.rsv, 0, "below the threshold, sent plain");
  assert.equal(short?.payload.toString(), "short");
  client.send(0x9, "ping", { rsv: 4 });
  await expectClose(client, 1002);
  const corrupt = await RawClient.connect(echo.port, "/ws", { "Sec-WebSocket-Extensions": "permessage-deflate" });
  corrupt.send(0x2, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 });
  await expectClose(corrupt, 1007);
});

test("compression: a zip bomb is cut off at maxPayloadLength (1009)", async () => {
  const server = await startServer({ maxPayloadLength: 1024 * 1024 });
  try {
    const client = await RawClient.connect(server.port, "/ws", { "Sec-WebSocket-Extensions": "permessage-deflate" });
    const bomb = compressForWire(Buffer.alloc(64 * 1024 * 1024));
    assert.ok(bomb.length < 100 * 1024);
    client.send(0x2, bomb, { rsv: 4 });
    await expectClose(client, 1009);
  } finally {
    await server.stop();
  }
});

test("keepalive: a peer that never answers pings is dropped", async () => {
  const server = await startServer({ idleTimeout: 0.1 });
  try {
    const client = await RawClient.connect(server.port);
    const ping = await client.nextFrame();
    assert.equal(ping?.opcode, 0x9);
    // Not answering: the server gives up on us.
    let frame;
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

test("frames sent together with the handshake request are not lost", async () => {
  const socket = net.connect(echo.port, "127.0.0.1");
  socket.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const request =
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(request), encodeClientFrame(0x1, "early"), encodeClientFrame(0x2, Buffer.from([9]))]));
    let received = Buffer.alloc(0);
    const expectedTail = Buffer.from([0x81, 5, ...Buffer.from("early"), 0x82, 1, 9]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; got ${received.toString("latin1")}`)), 10_000);
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.subarray(-expectedTail.length).equals(expectedTail)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    assert.match(received.toString("latin1"), /^HTTP\/1\.1 101 /);
  } finally {
    socket.destroy();
  }
});
