/**
 * HTTP/2 at the frame level, from a raw socket on Node: the frame codec, then cases modelled on h2spec's sections
 * (connection preface, frames on the wrong stream, stream states, flow control, HPACK errors, SETTINGS values,
 * malformed requests), each asserting the GOAWAY or RST_STREAM code; and the attacks (Rapid Reset, CONTINUATION
 * flood, PING/SETTINGS/empty-DATA floods, HPACK bomb, zero-window stalls), each while a well-behaved client on
 * another connection goes on being served. Bounded waits only; nothing asserts on timing.
 */
import { after, before, describe, it, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import http2 from "node:http2";
import { serve, type Server } from "../src/index.js";
import { ErrorCode, errorCodeName, Http2Error } from "../src/http2/errors.js";
import {
  dataFrame,
  FRAME_HEADER_SIZE,
  Flags,
  FrameType,
  frame,
  goawayFrame,
  headerFrames,
  parseData,
  parseFrameHeader,
  parseGoaway,
  parseHeaders,
  parsePing,
  parseRstStream,
  parseSettings,
  parseWindowUpdate,
  PREFACE,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from "../src/http2/frames.js";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../src/http2/hpack.js";

const WAIT = 10_000;

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
  /** A header block's fields, decoded on arrival (HPACK state follows the order of the blocks on the wire). */
  fields?: HeaderField[];
}

/** A raw HTTP/2 client: writes frames, and reads the server's frames as they come. */
class RawClient {
  private buffer = Buffer.alloc(0);
  private block: Uint8Array[] = [];
  private blockFrame: Frame | undefined;
  private readonly frames: Frame[] = [];
  private wake: (() => void) | undefined;
  closed = false;
  readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder();

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= FRAME_HEADER_SIZE) {
        const header = parseFrameHeader(this.buffer);
        if (this.buffer.length < FRAME_HEADER_SIZE + header.length) break;
        const payload = Uint8Array.from(this.buffer.subarray(FRAME_HEADER_SIZE, FRAME_HEADER_SIZE + header.length));
        this.buffer = this.buffer.subarray(FRAME_HEADER_SIZE + header.length);
        const received: Frame = { type: header.type, flags: header.flags, streamId: header.streamId, payload };
        if (header.type === FrameType.HEADERS) {
          this.block = [parseHeaders(header, payload).fragment];
          this.blockFrame = received;
        } else if (header.type === FrameType.CONTINUATION) this.block.push(payload);
        if ((header.type === FrameType.HEADERS || header.type === FrameType.CONTINUATION) && header.flags & Flags.END_HEADERS) {
          this.blockFrame!.fields = this.decoder.decode(Buffer.concat(this.block)).fields;
        }
        this.frames.push(received);
      }
      this.wake?.();
    });
    const end = () => {
      this.closed = true;
      this.wake?.();
    };
    socket.on("close", end);
    socket.on("end", end);
    socket.on("error", end);
  }

  static async open(port: number, options: { preface?: boolean; settings?: Array<[number, number]> } = {}): Promise<RawClient> {
    const socket = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    const client = new RawClient(socket);
    if (options.preface !== false) client.send(PREFACE, settingsFrame(options.settings ?? []));
    return client;
  }

  send(...chunks: Uint8Array[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(chunks));
  }

  /** The first frame received that matches `match` (others stay queued); undefined once closed without one. */
  async next(match: (frame: Frame) => boolean, what = "frame"): Promise<Frame | undefined> {
    const deadline = Date.now() + WAIT;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index !== -1) return this.frames.splice(index, 1)[0];
      if (this.closed) return undefined;
      if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits for GOAWAY and the close after it; returns the GOAWAY. */
  async goaway(): Promise<{ lastStreamId: number; code: number }> {
    const found = await this.next((f) => f.type === FrameType.GOAWAY, "GOAWAY");
    assert.ok(found, "GOAWAY before the close");
    const goaway = parseGoaway({ length: found.payload.length, type: found.type, flags: found.flags, streamId: 0 }, found.payload);
    return { lastStreamId: goaway.lastStreamId, code: goaway.code };
  }

  async expectGoaway(code: number): Promise<void> {
    const goaway = await this.goaway();
    assert.equal(errorCodeName(goaway.code), errorCodeName(code));
    // As a client would: nothing more to send (the server reads and drops input for a moment before it closes).
    this.socket.end();
    await this.closedByServer();
  }

  async closedByServer(): Promise<void> {
    const deadline = Date.now() + WAIT;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("the server did not close the connection");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async expectRst(streamId: number, code: number): Promise<void> {
    const found = await this.next(
      (f) => (f.type === FrameType.RST_STREAM && f.streamId === streamId) || f.type === FrameType.GOAWAY,
      "RST_STREAM",
    );
    assert.ok(found, "RST_STREAM before the close");
    assert.equal(found.type, FrameType.RST_STREAM, "a stream error, not a connection error");
    assert.equal(errorCodeName(parseRstStream({ length: 4, type: 3, flags: 0, streamId }, found.payload)), errorCodeName(code));
  }

  headers(streamId: number, fields: HeaderField[], endStream = true): Uint8Array {
    return headerFrames(streamId, this.encoder.encode(fields), endStream, 16384);
  }

  /** The response on `streamId`: status and body (END_STREAM), answering flow control as it goes. */
  async response(streamId: number): Promise<{ status: number; body: string; headers: HeaderField[] }> {
    let headers: HeaderField[] = [];
    let body = "";
    for (;;) {
      const found = await this.next((f) => f.streamId === streamId || f.type === FrameType.GOAWAY, `response on ${streamId}`);
      assert.ok(found, `the response on stream ${streamId} before the close`);
      assert.notEqual(found.type, FrameType.GOAWAY, "no GOAWAY before the response");
      const header = { length: found.payload.length, type: found.type, flags: found.flags, streamId };
      if (found.type === FrameType.HEADERS) {
        if (headers.length === 0) headers = found.fields ?? [];
      } else if (found.type === FrameType.DATA) {
        const data = parseData(header, found.payload);
        body += Buffer.from(data.data).toString();
        if (data.flowLength) this.send(windowUpdateFrame(0, data.flowLength), windowUpdateFrame(streamId, data.flowLength));
      } else if (found.type === FrameType.RST_STREAM) {
        throw new Error(`stream ${streamId} reset: ${errorCodeName(parseRstStream(header, found.payload))}`);
      }
      if (found.flags & Flags.END_STREAM) break;
    }
    return { status: Number(headers.find(([name]) => name === ":status")?.[1]), body, headers };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const GET = (path = "/", extra: HeaderField[] = []): HeaderField[] => [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", path],
  [":authority", "localhost"],
  ...extra,
];
const POST = (path = "/", extra: HeaderField[] = []): HeaderField[] => [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", path],
  [":authority", "localhost"],
  ...extra,
];

test("frame codec: headers, DATA padding, SETTINGS values, WINDOW_UPDATE, the errors and their codes", () => {
  const bytes = frame(FrameType.PING, 0, 0, new Uint8Array(8));
  assert.deepEqual(parseFrameHeader(bytes), { length: 8, type: FrameType.PING, flags: 0, streamId: 0 });
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      assert.ok(error instanceof Http2Error);
      return [errorCodeName(error.code), error.streamId];
    }
    return "no error";
  };
  const h = (type: number, flags: number, streamId: number, length: number) => ({ type, flags, streamId, length });
  // DATA: padding stripped, and counted by flow control.
  const padded = Uint8Array.from([3, 65, 66, 0, 0, 0]);
  const data = parseData(h(0, Flags.PADDED, 1, 6), padded);
  assert.equal(Buffer.from(data.data).toString(), "AB");
  assert.equal(data.flowLength, 6);
  assert.deepEqual(
    code(() => parseData(h(0, Flags.PADDED, 1, 3), Uint8Array.from([3, 0, 0]))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseData(h(0, 0, 0, 0), new Uint8Array(0))),
    ["PROTOCOL_ERROR", undefined],
  );
  // HEADERS with padding and priority.
  const headers = parseHeaders(
    h(1, Flags.PADDED | Flags.PRIORITY | Flags.END_HEADERS, 3, 9),
    Uint8Array.from([2, 0x80, 0, 0, 1, 15, 0x82, 0, 0]),
  );
  assert.deepEqual(headers.priority, { exclusive: true, dependency: 1, weight: 16 });
  assert.deepEqual([...headers.fragment], [0x82]);
  // SETTINGS.
  assert.deepEqual(
    code(() => parseSettings(h(4, 0, 1, 0), new Uint8Array(0))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseSettings(h(4, 0, 0, 5), new Uint8Array(5))),
    ["FRAME_SIZE_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseSettings(h(4, Flags.ACK, 0, 6), new Uint8Array(6))),
    ["FRAME_SIZE_ERROR", undefined],
  );
  const one = (id: number, value: number) => settingsFrame([[id, value]]).subarray(FRAME_HEADER_SIZE);
  assert.deepEqual(
    code(() => parseSettings(h(4, 0, 0, 6), one(Setting.ENABLE_PUSH, 2))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseSettings(h(4, 0, 0, 6), one(Setting.INITIAL_WINDOW_SIZE, 2 ** 31))),
    ["FLOW_CONTROL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseSettings(h(4, 0, 0, 6), one(Setting.MAX_FRAME_SIZE, 16383))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseSettings(h(4, 0, 0, 6), one(Setting.MAX_FRAME_SIZE, 2 ** 24))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.equal(parseSettings(h(4, 0, 0, 6), one(0x99, 7))?.get(0x99), 7);
  // PING, WINDOW_UPDATE, RST_STREAM, GOAWAY.
  assert.deepEqual(
    code(() => parsePing(h(6, 0, 0, 7), new Uint8Array(7))),
    ["FRAME_SIZE_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parsePing(h(6, 0, 1, 8), new Uint8Array(8))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseWindowUpdate(h(8, 0, 0, 4), new Uint8Array(4))),
    ["PROTOCOL_ERROR", undefined],
  );
  assert.deepEqual(
    code(() => parseWindowUpdate(h(8, 0, 5, 4), new Uint8Array(4))),
    ["PROTOCOL_ERROR", 5],
  );
  assert.deepEqual(
    code(() => parseWindowUpdate(h(8, 0, 5, 3), new Uint8Array(3))),
    ["FRAME_SIZE_ERROR", undefined],
  );
  assert.equal(parseWindowUpdate(h(8, 0, 0, 4), windowUpdateFrame(0, 1000).subarray(9)), 1000);
  assert.deepEqual(
    code(() => parseRstStream(h(3, 0, 1, 3), new Uint8Array(3))),
    ["FRAME_SIZE_ERROR", undefined],
  );
  assert.equal(parseRstStream(h(3, 0, 1, 4), rstStreamFrame(1, 8).subarray(9)), 8);
  const goaway = goawayFrame(7, ErrorCode.ENHANCE_YOUR_CALM, "calm");
  assert.deepEqual(parseGoaway(h(7, 0, 0, goaway.length - 9), goaway.subarray(9)).lastStreamId, 7);
  // A header block larger than a frame: HEADERS then CONTINUATION, END_HEADERS on the last only.
  const split = headerFrames(1, new Uint8Array(40_000), true, 16_384);
  const first = parseFrameHeader(split);
  assert.deepEqual([first.type, first.flags, first.length], [FrameType.HEADERS, Flags.END_STREAM, 16_384]);
  const last = parseFrameHeader(split, 2 * (16_384 + 9));
  assert.deepEqual([last.type, last.flags, last.length], [FrameType.CONTINUATION, Flags.END_HEADERS, 40_000 - 2 * 16_384]);
});

describe("HTTP/2 frame-level conformance and attacks (h2c on serve())", { timeout: 180_000 }, () => {
  let server: Server;
  let bystander: http2.ClientHttp2Session;
  const aborted: string[] = [];
  const arrived: string[] = [];

  before(async () => {
    server = serve({
      port: 0,
      // Short stalls so that the zero-window cases end soon; the bystander's session stays open between cases.
      bodyTimeout: 500,
      idleTimeout: 120_000,
      async fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === "/wait") {
          // Waits for the client's reset (or for the test to release it).
          arrived.push(url.searchParams.get("id") ?? "");
          await new Promise<void>((resolve) => {
            request.signal.addEventListener("abort", () => {
              aborted.push(url.searchParams.get("id") ?? "");
              resolve();
            });
          });
          return new Response("released");
        }
        if (url.pathname === "/big") return new Response(new Uint8Array(Number(url.searchParams.get("size") ?? 200_000)).fill(97));
        if (request.body) return new Response(`got ${(await request.arrayBuffer()).byteLength}`);
        return new Response(`hello ${url.pathname}`);
      },
    });
    await server.ready();
    bystander = http2.connect(`http://127.0.0.1:${server.port}`);
    await bystanderServed();
  });
  after(async () => {
    bystander?.close();
    await server?.close(true);
  });

  /** The well-behaved client, connected before the case, is still served. */
  async function bystanderServed(): Promise<void> {
    const body = await new Promise<string>((resolve, reject) => {
      const stream = bystander.request({ ":path": "/bystander" });
      let text = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => (text += chunk));
      stream.on("end", () => resolve(text));
      stream.on("error", reject);
    });
    assert.equal(body, "hello /bystander");
  }

  async function connectionError(code: number, ...frames: Uint8Array[]): Promise<void> {
    const client = await RawClient.open(server.port);
    try {
      client.send(...frames);
      await client.expectGoaway(code);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  }

  async function streamError(streamId: number, code: number, ...frames: Uint8Array[]): Promise<void> {
    const client = await RawClient.open(server.port);
    try {
      client.send(...frames);
      await client.expectRst(streamId, code);
      // The connection goes on.
      client.send(client.headers(streamId + 2, GET("/after")));
      assert.equal((await client.response(streamId + 2)).body, "hello /after");
    } finally {
      client.destroy();
    }
  }

  it("3.4 preface: our SETTINGS come first, the client's SETTINGS are acknowledged, a request is served", async () => {
    const client = await RawClient.open(server.port);
    try {
      const settings = await client.next((f) => f.type === FrameType.SETTINGS && !(f.flags & Flags.ACK));
      const values = parseSettings({ length: settings!.payload.length, type: 4, flags: 0, streamId: 0 }, settings!.payload)!;
      assert.equal(values.get(Setting.MAX_CONCURRENT_STREAMS), 100);
      assert.equal(values.get(Setting.ENABLE_PUSH), 0);
      assert.ok(await client.next((f) => f.type === FrameType.SETTINGS && (f.flags & Flags.ACK) !== 0));
      client.send(client.headers(1, GET("/x")));
      const response = await client.response(1);
      assert.equal(response.status, 200);
      assert.equal(response.body, "hello /x");
      assert.equal(response.headers.find(([name]) => name === "content-length")?.[1], "8");
    } finally {
      client.destroy();
    }
  });

  it("3.4 a preface not followed by SETTINGS: PROTOCOL_ERROR; an invalid preface is answered as HTTP/1.1 and closed", async () => {
    const client = await RawClient.open(server.port, { preface: false });
    client.send(PREFACE, frame(FrameType.PING, 0, 0, new Uint8Array(8)));
    await client.expectGoaway(ErrorCode.PROTOCOL_ERROR);
    client.destroy();
    const socket = net.connect(server.port, "127.0.0.1");
    let text = "";
    socket.on("data", (chunk) => (text += chunk));
    socket.write("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    await new Promise((resolve) => socket.on("close", resolve));
    assert.match(text, /^HTTP\/1\.1 [45]\d\d /);
  });

  it("5.1.1 HEADERS on an even stream id, or below the last one: PROTOCOL_ERROR", async () => {
    await connectionError(ErrorCode.PROTOCOL_ERROR, headerFrames(2, new HpackEncoder().encode(GET()), true, 16384));
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(5, GET()));
      await client.response(5);
      client.send(client.headers(3, GET()));
      await client.expectGoaway(ErrorCode.PROTOCOL_ERROR);
    } finally {
      client.destroy();
    }
  });

  it("5.1 frames on idle and closed streams: DATA/RST_STREAM/WINDOW_UPDATE on idle → PROTOCOL_ERROR, DATA on closed → STREAM_CLOSED", async () => {
    await connectionError(ErrorCode.PROTOCOL_ERROR, dataFrame(1, new Uint8Array(1), true));
    await connectionError(ErrorCode.PROTOCOL_ERROR, rstStreamFrame(1, ErrorCode.CANCEL));
    await connectionError(ErrorCode.PROTOCOL_ERROR, windowUpdateFrame(1, 100));
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, GET()));
      await client.response(1);
      client.send(dataFrame(1, new Uint8Array(1), true));
      await client.expectRst(1, ErrorCode.STREAM_CLOSED);
      // Half-closed (remote): DATA after END_STREAM on a stream still being answered.
      client.send(client.headers(3, GET("/wait?id=half")), dataFrame(3, new Uint8Array(1), true));
      await client.expectRst(3, ErrorCode.STREAM_CLOSED);
    } finally {
      client.destroy();
    }
  });

  it("6.x frames on stream 0 that belong to a stream, and stream frames on 0: PROTOCOL_ERROR", async () => {
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.DATA, 0, 0, new Uint8Array(1)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.HEADERS, Flags.END_HEADERS, 0, Uint8Array.from([0x82])));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.PRIORITY, 0, 0, new Uint8Array(5)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.RST_STREAM, 0, 0, new Uint8Array(4)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.SETTINGS, 0, 1, new Uint8Array(0)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.PING, 0, 1, new Uint8Array(8)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.GOAWAY, 0, 1, new Uint8Array(8)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.CONTINUATION, Flags.END_HEADERS, 0, new Uint8Array(0)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.PUSH_PROMISE, Flags.END_HEADERS, 1, new Uint8Array(4)));
  });

  it("4.2 / 6.x frame sizes: over SETTINGS_MAX_FRAME_SIZE, PING of 7 bytes, RST_STREAM of 3: FRAME_SIZE_ERROR; PRIORITY of 4 is a stream error (a connection error on an idle stream)", async () => {
    await connectionError(ErrorCode.FRAME_SIZE_ERROR, frame(FrameType.PING, 0, 0, new Uint8Array(16_385)));
    await connectionError(ErrorCode.FRAME_SIZE_ERROR, frame(FrameType.PING, 0, 0, new Uint8Array(7)));
    await connectionError(ErrorCode.FRAME_SIZE_ERROR, frame(FrameType.SETTINGS, 0, 0, new Uint8Array(5)));
    const open = new RawClient_Headers(1, POST("/wait?id=priority"), false).bytes;
    await streamError(1, ErrorCode.FRAME_SIZE_ERROR, open, frame(FrameType.PRIORITY, 0, 1, new Uint8Array(4)));
    await streamError(1, ErrorCode.PROTOCOL_ERROR, open, frame(FrameType.PRIORITY, 0, 1, Uint8Array.from([0, 0, 0, 1, 16])));
    // RST_STREAM may not name an idle stream (§6.4): there the same errors end the connection.
    await connectionError(ErrorCode.FRAME_SIZE_ERROR, frame(FrameType.PRIORITY, 0, 1, new Uint8Array(4)));
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.PRIORITY, 0, 1, Uint8Array.from([0, 0, 0, 1, 16])));
  });

  it("6.5 SETTINGS with invalid values: ENABLE_PUSH 2, INITIAL_WINDOW_SIZE 2^31, MAX_FRAME_SIZE out of range", async () => {
    await connectionError(ErrorCode.PROTOCOL_ERROR, settingsFrame([[Setting.ENABLE_PUSH, 2]]));
    await connectionError(ErrorCode.FLOW_CONTROL_ERROR, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]]));
    await connectionError(ErrorCode.PROTOCOL_ERROR, settingsFrame([[Setting.MAX_FRAME_SIZE, 16_383]]));
    await connectionError(ErrorCode.FRAME_SIZE_ERROR, frame(FrameType.SETTINGS, Flags.ACK, 0, new Uint8Array(6)));
  });

  it("6.9 WINDOW_UPDATE: increment 0, overflow of the connection window and of a stream window", async () => {
    await connectionError(ErrorCode.PROTOCOL_ERROR, windowUpdateFrame(0, 0));
    await connectionError(ErrorCode.FLOW_CONTROL_ERROR, windowUpdateFrame(0, 2 ** 31 - 1));
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, GET("/wait?id=wu")), windowUpdateFrame(1, 0));
      await client.expectRst(1, ErrorCode.PROTOCOL_ERROR);
      client.send(client.headers(3, GET("/wait?id=wu3")), windowUpdateFrame(3, 2 ** 31 - 1));
      await client.expectRst(3, ErrorCode.FLOW_CONTROL_ERROR);
    } finally {
      client.destroy();
    }
  });

  it("6.9 DATA beyond the stream window: FLOW_CONTROL_ERROR on the stream, the connection goes on", async () => {
    // The handler does not read /wait's body: nothing is credited, so 65 536 bytes overrun the 65 535 window.
    const chunk = new Uint8Array(16_384);
    await streamError(
      1,
      ErrorCode.FLOW_CONTROL_ERROR,
      headerFrames(1, new HpackEncoder().encode(POST("/wait?id=fc")), false, 16384),
      dataFrame(1, chunk, false),
      dataFrame(1, chunk, false),
      dataFrame(1, chunk, false),
      dataFrame(1, chunk, false),
    );
  });

  it("4.3 bad HPACK (index 0, index beyond the table, a bad Huffman string): COMPRESSION_ERROR", async () => {
    await connectionError(
      ErrorCode.COMPRESSION_ERROR,
      frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, Uint8Array.from([0x80])),
    );
    await connectionError(
      ErrorCode.COMPRESSION_ERROR,
      frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, Uint8Array.from([0xff, 0x10])),
    );
    await connectionError(
      ErrorCode.COMPRESSION_ERROR,
      frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.END_STREAM, 1, Uint8Array.from([0x82, 0x04, 0x83, 0xff, 0xff, 0xff])),
    );
  });

  it("6.10 a header block interrupted, CONTINUATION without HEADERS: PROTOCOL_ERROR; a block in CONTINUATIONs is served", async () => {
    const block = new HpackEncoder().encode(GET("/continued"));
    await connectionError(
      ErrorCode.PROTOCOL_ERROR,
      frame(FrameType.HEADERS, Flags.END_STREAM, 1, block.subarray(0, 2)),
      frame(FrameType.PING, 0, 0, new Uint8Array(8)),
    );
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, block));
    const client = await RawClient.open(server.port);
    try {
      const own = client.encoder.encode(GET("/continued"));
      client.send(
        frame(FrameType.HEADERS, Flags.END_STREAM, 1, own.subarray(0, 1)),
        frame(FrameType.CONTINUATION, 0, 1, own.subarray(1, 3)),
        frame(FrameType.CONTINUATION, Flags.END_HEADERS, 1, own.subarray(3)),
      );
      assert.equal((await client.response(1)).body, "hello /continued");
    } finally {
      client.destroy();
    }
  });

  it("more of h2spec's cases: padding beyond the payload, CONTINUATION on another stream, RST_STREAM of 3 bytes", async () => {
    const block = new HpackEncoder().encode(GET("/"));
    await connectionError(
      ErrorCode.PROTOCOL_ERROR,
      frame(FrameType.HEADERS, Flags.END_HEADERS | Flags.PADDED, 1, Uint8Array.from([255, ...block])),
    );
    await connectionError(
      ErrorCode.PROTOCOL_ERROR,
      headerFrames(1, block, false, 16384),
      frame(FrameType.DATA, Flags.PADDED | Flags.END_STREAM, 1, Uint8Array.from([4, 1, 2])),
    );
    await connectionError(
      ErrorCode.PROTOCOL_ERROR,
      frame(FrameType.HEADERS, 0, 1, block),
      frame(FrameType.CONTINUATION, Flags.END_HEADERS, 3, new Uint8Array(0)),
    );
    await connectionError(ErrorCode.PROTOCOL_ERROR, frame(FrameType.HEADERS, 0, 1, block), frame(0x20, 0, 1, new Uint8Array(0)));
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, GET("/rst")), frame(FrameType.RST_STREAM, 0, 1, new Uint8Array(3)));
      await client.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
    } finally {
      client.destroy();
    }
  });

  it("5.5 unknown frame types are ignored; a client's GOAWAY lets the stream in hand finish, then the server closes", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(
        frame(0x20, 0xff, 0, new Uint8Array(7)),
        frame(0x21, 0, 1, new Uint8Array(3)),
        frame(FrameType.PING, 0, 0, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])),
      );
      const pong = await client.next((f) => f.type === FrameType.PING, "PING ACK");
      assert.ok(pong && pong.flags & Flags.ACK);
      assert.deepEqual([...pong.payload], [1, 2, 3, 4, 5, 6, 7, 8]);
      client.send(client.headers(1, GET("/big?size=100")), goawayFrame(0, ErrorCode.NO_ERROR));
      assert.equal((await client.response(1)).body.length, 100);
      await client.closedByServer();
    } finally {
      client.destroy();
    }
  });

  it("8.3 malformed requests are stream errors PROTOCOL_ERROR", async () => {
    await streamError(
      1,
      ErrorCode.PROTOCOL_ERROR,
      new RawClient_Headers(1, [
        [":method", "GET"],
        [":scheme", "http"],
        [":authority", "h"],
      ]).bytes,
    );
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, GET("/", [["X-Upper", "1"]])).bytes);
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, GET("/", [["connection", "keep-alive"]])).bytes);
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, GET("/", [["te", "gzip"]])).bytes);
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, [["x", "1"], ...GET("/")]).bytes);
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, [...GET("/"), [":method", "GET"]]).bytes);
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, [...GET("/"), [":status", "200"]]).bytes);
    await streamError(1, ErrorCode.PROTOCOL_ERROR, new RawClient_Headers(1, GET("no-slash")).bytes);
    // content-length that the DATA frames contradict.
    await streamError(
      1,
      ErrorCode.PROTOCOL_ERROR,
      new RawClient_Headers(1, POST("/", [["content-length", "5"]]), false).bytes,
      dataFrame(1, new Uint8Array(3), true),
    );
    // Trailers without END_STREAM.
    const encoder = new HpackEncoder();
    await streamError(
      1,
      ErrorCode.PROTOCOL_ERROR,
      headerFrames(1, encoder.encode(POST("/")), false, 16384),
      dataFrame(1, new Uint8Array(3), false),
      headerFrames(1, encoder.encode([["x-trailer", "1"]]), false, 16384),
    );
  });

  it("8.1 trailers are accepted; cookies in several fields are joined; padding is honoured", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(
        client.headers(
          1,
          POST("/", [
            ["cookie", "a=1"],
            ["cookie", "b=2"],
          ]),
          false,
        ),
        frame(FrameType.DATA, Flags.PADDED, 1, Uint8Array.from([4, 1, 2, 3, 0, 0, 0, 0])),
        client.headers(1, [["x-checksum", "abc"]], true),
      );
      assert.equal((await client.response(1)).body, "got 3");
    } finally {
      client.destroy();
    }
  });

  it("expect: 100-continue gets an interim 100 when the handler reads the body", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, POST("/", [["expect", "100-continue"]]), false));
      const interim = await client.next((f) => f.type === FrameType.HEADERS && f.streamId === 1, "the interim HEADERS");
      assert.ok(interim);
      assert.equal(interim.flags & Flags.END_STREAM, 0);
      assert.deepEqual(interim.fields, [[":status", "100"]]);
      client.send(dataFrame(1, new Uint8Array(3), true));
      const response = await client.response(1);
      assert.equal(response.status, 200);
      assert.equal(response.body, "got 3");
    } finally {
      client.destroy();
    }
  });

  it("RST_STREAM from the client aborts request.signal; the connection goes on", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, GET("/wait?id=reset-me")));
      for (let i = 0; i < 500 && !arrived.includes("reset-me"); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      client.send(rstStreamFrame(1, ErrorCode.CANCEL));
      for (let i = 0; i < 500 && !aborted.includes("reset-me"); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(aborted.includes("reset-me"));
      client.send(client.headers(3, GET("/after-reset")));
      assert.equal((await client.response(3)).body, "hello /after-reset");
    } finally {
      client.destroy();
    }
  });

  it("flow control: a stream at zero window does not block another; the stalled stream is reset after bodyTimeout", async () => {
    const client = await RawClient.open(server.port, { settings: [[Setting.INITIAL_WINDOW_SIZE, 1000]] });
    try {
      // Stream 1 gets 1000 bytes and stalls; stream 3 is given window and completes.
      client.send(client.headers(1, GET("/big?size=5000")), client.headers(3, GET("/big?size=3000")));
      const data = await client.next((f) => f.type === FrameType.DATA && f.streamId === 3, "DATA on 3");
      assert.ok(data);
      client.send(windowUpdateFrame(3, 10_000));
      let received = data.payload.length;
      while (received < 3000) {
        const more = await client.next((f) => f.type === FrameType.DATA && f.streamId === 3, "DATA on 3");
        assert.ok(more);
        received += more.payload.length;
      }
      assert.equal(received, 3000);
      await client.expectRst(1, ErrorCode.CANCEL);
      client.send(client.headers(5, GET("/after-stall")));
      // Stream 5's response fits in 1000 bytes.
      assert.equal((await client.response(5)).body, "hello /after-stall");
    } finally {
      client.destroy();
    }
  });

  it("a request body that stalls for bodyTimeout: the stream is reset (CANCEL), the connection serves on", async () => {
    const client = await RawClient.open(server.port);
    try {
      // Ten bytes of a body that never ends: the handler's arrayBuffer() waits for the rest.
      client.send(client.headers(1, POST("/upload"), false), dataFrame(1, new Uint8Array(10), false));
      await client.expectRst(1, ErrorCode.CANCEL);
      client.send(client.headers(3, GET("/after-body-stall")));
      assert.equal((await client.response(3)).body, "hello /after-body-stall");
    } finally {
      client.destroy();
    }
  });

  it("flow control: a connection whose window stays at zero is closed (ENHANCE_YOUR_CALM)", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, GET("/big?size=200000")));
      // Never a WINDOW_UPDATE: the connection window (65 535) runs out and stays at zero.
      await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });

  it("graceful shutdown is tested with its own server: GOAWAY NO_ERROR, the stream in hand completes", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const own = serve({
      port: 0,
      async fetch() {
        started();
        await new Promise<void>((resolve) => (finish = resolve));
        return new Response("finished");
      },
    });
    await own.ready();
    const client = await RawClient.open(own.port);
    try {
      client.send(client.headers(1, GET("/slow")));
      await running;
      const done = own.shutdown();
      const goaway = await client.goaway();
      assert.deepEqual(goaway, { lastStreamId: 1, code: ErrorCode.NO_ERROR });
      finish();
      assert.equal((await client.response(1)).body, "finished");
      await client.closedByServer();
      await done;
    } finally {
      client.destroy();
      await own.close(true);
    }
  });

  it("a connection without streams for idleTimeout gets GOAWAY NO_ERROR and is closed (its own server)", async () => {
    const own = serve({ port: 0, idleTimeout: 300, fetch: () => new Response("idle") });
    await own.ready();
    const client = await RawClient.open(own.port);
    try {
      client.send(client.headers(1, GET("/")));
      assert.equal((await client.response(1)).body, "idle");
      const goaway = await client.goaway();
      assert.deepEqual(goaway, { lastStreamId: 1, code: ErrorCode.NO_ERROR });
      await client.closedByServer();
    } finally {
      client.destroy();
      await own.close(true);
    }
  });

  // The attacks: the attacker gets GOAWAY and is closed, the bystander is served.

  it("Rapid Reset (CVE-2023-44487): HEADERS + RST_STREAM in a loop → GOAWAY ENHANCE_YOUR_CALM", async () => {
    const client = await RawClient.open(server.port);
    try {
      for (let i = 0; i < 1000 && !client.closed; i++) {
        const id = 1 + 2 * i;
        client.send(client.headers(id, GET(`/wait?id=rr${i}`)), rstStreamFrame(id, ErrorCode.CANCEL));
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });

  it("Rapid Reset variant: streams opened faster than handlers finish are refused, then GOAWAY ENHANCE_YOUR_CALM", async () => {
    const client = await RawClient.open(server.port);
    try {
      // No resets at all: /wait never returns, so beyond 100 streams each new one is refused.
      for (let i = 0; i < 1000 && !client.closed; i++) {
        client.send(client.headers(1 + 2 * i, GET(`/wait?id=open${i}`)));
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await client.expectRst(201, ErrorCode.REFUSED_STREAM);
      await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });

  it("CONTINUATION flood: a header block that never ends → GOAWAY ENHANCE_YOUR_CALM", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(frame(FrameType.HEADERS, 0, 1, client.encoder.encode(GET("/"))));
      const filler = new Uint8Array(1024).fill(0x40);
      for (let i = 0; i < 10_000 && !client.closed; i++) {
        client.send(frame(FrameType.CONTINUATION, 0, 1, filler));
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });

  it("CONTINUATION flood of empty frames → GOAWAY ENHANCE_YOUR_CALM", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(frame(FrameType.HEADERS, 0, 1, client.encoder.encode(GET("/"))));
      for (let i = 0; i < 10_000 && !client.closed; i++) {
        client.send(frame(FrameType.CONTINUATION, 0, 1));
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });

  for (const [name, flood] of [
    ["PING", () => frame(FrameType.PING, 0, 0, new Uint8Array(8))],
    ["SETTINGS", () => settingsFrame([[Setting.HEADER_TABLE_SIZE, 4096]])],
  ] as const) {
    it(`${name} flood → GOAWAY ENHANCE_YOUR_CALM`, async () => {
      const client = await RawClient.open(server.port);
      try {
        for (let i = 0; i < 10_000 && !client.closed; i++) {
          client.send(flood());
          if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
      } finally {
        client.destroy();
      }
      await bystanderServed();
    });
  }

  it("empty DATA flood → GOAWAY ENHANCE_YOUR_CALM", async () => {
    const client = await RawClient.open(server.port);
    try {
      client.send(client.headers(1, POST("/wait?id=empty"), false));
      for (let i = 0; i < 10_000 && !client.closed; i++) {
        client.send(dataFrame(1, new Uint8Array(0), false));
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await client.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });

  it("seeded random frames after a valid preface: every connection ends, nothing escapes, the bystander is served", async () => {
    let seed = 20261204;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const int = (n: number) => Math.floor(random() * n);
    for (let c = 0; c < 150; c++) {
      const client = await RawClient.open(server.port);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 30; i++) {
        const type = int(11);
        const streamId = [0, 1, 3, 5, 2, 7][int(6)]!;
        if (type === FrameType.HEADERS && random() < 0.7) {
          frames.push(client.headers(streamId || 1, (random() < 0.5 ? GET : POST)(`/fuzz${c}`), random() < 0.5));
          continue;
        }
        const payload = new Uint8Array([0, 1, 4, 5, 6, 8, 9, 20, 64][int(9)]!).map(() => int(256));
        frames.push(frame(type, int(256), streamId, payload));
      }
      client.send(...frames);
      if (random() < 0.5) client.destroy();
      else client.socket.end();
    }
    await bystanderServed();
  });

  it("HPACK bomb: a block referencing a large entry thousands of times is answered 431, the connection goes on", async () => {
    const client = await RawClient.open(server.port);
    try {
      // Stream 1 puts a 200-byte field in the table; stream 3 references it 10 000 times (2 MB decoded).
      client.send(client.headers(1, GET("/", [["x-bomb", "x".repeat(200)]])));
      await client.response(1);
      const block = client.encoder.encode(GET("/bomb"));
      const bomb = new Uint8Array(block.length + 10_000);
      bomb.set(block);
      const position = findIndex(client.encoder, "x-bomb");
      bomb.fill(0x80 | position, block.length);
      client.send(headerFrames(3, bomb, true, 16384));
      assert.equal((await client.response(3)).status, 431);
      client.send(client.headers(5, GET("/after-bomb")));
      assert.equal((await client.response(5)).body, "hello /after-bomb");
    } finally {
      client.destroy();
    }
    await bystanderServed();
  });
});

/** HEADERS frames for a block made by a fresh encoder (a connection of its own). */
class RawClient_Headers {
  readonly bytes: Uint8Array;
  constructor(streamId: number, fields: HeaderField[], endStream = true) {
    this.bytes = headerFrames(streamId, new HpackEncoder().encode(fields), endStream, 16384);
  }
}

/** The HPACK index of the newest dynamic entry named `name` in the encoder's table. */
function findIndex(encoder: HpackEncoder, name: string): number {
  for (let i = 0; i < encoder.table.length; i++) if (encoder.table.get(i)![0] === name) return 62 + i;
  throw new Error(`${name} is not in the table`);
}
