/** The pure pieces of the WebSocket server: deflate payload shaping, extension parsing, close payloads. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { constants, createInflateRaw, deflateRawSync, inflateRawSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { toSyncFlushPayload } from "../src/websocket/deflate-tail.js";
import { deflateMessage, inflateMessage } from "../src/websocket/deflate.js";
import { negotiatePerMessageDeflate, parseExtensions } from "../src/websocket/extensions.js";
import { WebSocketConnection } from "../src/websocket/connection.js";
import { connectionSettings } from "../src/websocket/handler.js";
import { encodeClosePayload, unmask } from "../src/websocket/frames.js";
import { encodeClientFrame } from "./fixtures/websocket/raw-client.js";
import { Utf8Validator } from "../src/websocket/utf8.js";

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

function samples(): Buffer[] {
  const words = Buffer.from(Array.from({ length: 20000 }, (_, i) => `word${(i * 7919) % 313} `).join(""));
  return [
    Buffer.alloc(0),
    Buffer.from("a"),
    Buffer.from("Hello"),
    Buffer.alloc(70_000, 7), // long runs: length/distance codes
    words, // dynamic Huffman blocks
    Buffer.concat([words, words, words, words, words]), // several blocks
    randomBytes(200_000), // stored blocks
    Buffer.concat([randomBytes(40_000), words, randomBytes(3)]), // mixed block types
  ];
}

test("toSyncFlushPayload: inflates back to the input, for every block type and level", () => {
  for (const level of [1, 6, 9]) {
    for (const sample of samples()) {
      const payload = toSyncFlushPayload(new Uint8Array(deflateRawSync(sample, { level })));
      const inflated = inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH });
      assert.ok(inflated.equals(sample), `level ${level}, ${sample.length} bytes`);
    }
  }
});

test("toSyncFlushPayload: refuses peer data it cannot walk (stored block longer than the data, invalid symbols)", () => {
  // A stored block that announces 5 bytes but carries 4.
  assert.throws(() => toSyncFlushPayload(new Uint8Array([0x01, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c])));
  // A final fixed-Huffman block whose first code is length symbol 286, which RFC 1951 reserves:
  // BFINAL 1, BTYPE 01, then 286's 8-bit code 11000110, most significant bit first; the zero bits after it
  // would read as a distance and an end of block: the data must be refused for the symbol itself.
  const bits = [1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0];
  const bytes = new Uint8Array(10);
  bits.forEach((bit, i) => {
    bytes[i >> 3]! |= bit << (i & 7);
  });
  assert.throws(() => toSyncFlushPayload(bytes));
  // The RFC 7692 section 7.2.3.4 example: a final block followed by a zero byte, walked and rewritten.
  const rewritten = toSyncFlushPayload(new Uint8Array([0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]));
  assert.equal(
    inflateRawSync(Buffer.concat([rewritten, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString(),
    "Hello",
  );
});

test("deflateMessage: one inflater kept across messages (no reset) reads them all", async () => {
  const inflater = createInflateRaw();
  const output: Buffer[] = [];
  inflater.on("data", (chunk: Buffer) => output.push(chunk));
  for (const sample of samples()) {
    inflater.write(await deflateMessage(sample));
    inflater.write(TAIL);
    await new Promise<void>((resolve) => inflater.flush(() => resolve()));
    assert.ok(Buffer.concat(output.splice(0)).equals(sample), `${sample.length} bytes`);
  }
  inflater.close();
});

test("inflateMessage: reads sync-flushed payloads, bounds the output", async () => {
  const sample = samples()[5]!;
  const flushed = deflateRawSync(sample, { finishFlush: constants.Z_SYNC_FLUSH });
  const wire = flushed.subarray(0, flushed.length - 4);
  assert.ok(Buffer.from(await inflateMessage(wire, sample.length)).equals(sample));
  await assert.rejects(inflateMessage(wire, sample.length - 1), (error: { closeCode?: number }) => error.closeCode === 1009);
  await assert.rejects(inflateMessage(new Uint8Array([0xff, 0xfe]), 1000), (error: { closeCode?: number }) => error.closeCode === 1007);
});

test("parseExtensions: parameters, quoted values, malformed headers", () => {
  assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits; server_max_window_bits="10", x-foo'), [
    {
      name: "permessage-deflate",
      params: new Map<string, string | true>([
        ["client_max_window_bits", true],
        ["server_max_window_bits", "10"],
      ]),
    },
    { name: "x-foo", params: new Map() },
  ]);
  assert.equal(parseExtensions("permessage-deflate; bad param"), undefined);
  assert.equal(parseExtensions('permessage-deflate; a="unterminated'), undefined);
  assert.equal(parseExtensions("permessage deflate"), undefined);
});

test("negotiatePerMessageDeflate: first acceptable offer wins; invalid offers are declined", () => {
  const options = { threshold: 10 };
  assert.equal(negotiatePerMessageDeflate(null, options), undefined);
  assert.equal(negotiatePerMessageDeflate("x-webkit-deflate-frame", options), undefined);
  assert.equal(negotiatePerMessageDeflate("permessage-deflate; server_max_window_bits=7", options), undefined);
  assert.equal(negotiatePerMessageDeflate("permessage-deflate; server_max_window_bits", options), undefined);
  assert.equal(negotiatePerMessageDeflate("permessage-deflate; client_max_window_bits=16", options), undefined);
  assert.equal(
    negotiatePerMessageDeflate("permessage-deflate; server_no_context_takeover; server_no_context_takeover", options),
    undefined,
  );
  assert.equal(negotiatePerMessageDeflate("permessage-deflate; server_no_context_takeover=1", options), undefined);
  const chosen = negotiatePerMessageDeflate(
    "permessage-deflate; foo, permessage-deflate; server_max_window_bits=9; client_max_window_bits=12",
    options,
  );
  assert.equal(chosen?.response, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9");
  assert.deepEqual(chosen?.parameters, { maxCompressedMessage: 512, threshold: 10 });
  assert.equal(negotiatePerMessageDeflate("permessage-deflate", {})?.parameters.maxCompressedMessage, Infinity);
});

test("encodeClosePayload: code first, reason cut at a character boundary within 125 bytes", () => {
  assert.deepEqual([...encodeClosePayload(undefined)], []);
  assert.deepEqual([...encodeClosePayload(1000, "ok")], [0x03, 0xe8, 0x6f, 0x6b]);
  const long = encodeClosePayload(4000, "€".repeat(100));
  assert.equal(long.length, 2 + 123 - (123 % 3));
  assert.equal(new TextDecoder("utf-8", { fatal: true }).decode(long.subarray(2)), "€".repeat(41));
});

test("unmask: any offset and alignment gives the byte-wise XOR", () => {
  const mask = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const original = randomBytes(103);
  for (let start = 0; start < 5; start++) {
    for (let offset = 0; offset < 4; offset++) {
      const data = new Uint8Array(original).subarray(start);
      unmask(data, mask, offset);
      const expected = original.subarray(start).map((byte, i) => byte ^ mask[(offset + i) & 3]!);
      assert.deepEqual([...data], [...expected], `start ${start}, offset ${offset}`);
    }
  }
});

test("Utf8Validator agrees with a fatal TextDecoder, however the bytes are split", () => {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const validator = new Utf8Validator();
  const interesting = [
    0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x90, 0x9f, 0xa0, 0x8f,
  ];
  let seed = 12345;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let round = 0; round < 20000; round++) {
    const bytes = Uint8Array.from({ length: 1 + random(8) }, () => interesting[random(interesting.length)]!);
    let expected = true;
    try {
      decoder.decode(bytes);
    } catch {
      expected = false;
    }
    const split = random(bytes.length + 1);
    const valid = validator.push(bytes.subarray(0, split)) && validator.push(bytes.subarray(split));
    const complete = validator.finish();
    assert.equal(valid && complete, expected, `bytes ${[...bytes].map((b) => b.toString(16)).join(" ")}`);
  }
  assert.equal(validator.push(Buffer.from("κόσμε 𝄞 \u{10FFFF}")), true);
  assert.equal(validator.finish(), true);
});

/**
 * A WebSocketConnection on an in-memory socket; `peer` sends bytes as the client, `ends` records how the server
 * let the TCP connection go: "aborted" (dropped at once) or "closed" (a graceful end).
 */
function memoryConnection() {
  let peer!: ReadableStreamDefaultController<Uint8Array>;
  const reader = new ReadableStream<Uint8Array>({ start: (controller) => void (peer = controller) }).getReader();
  const ends: string[] = [];
  const writer = new WritableStream<Uint8Array>({
    write() {},
    close: () => void ends.push("closed"),
    abort: () => void ends.push("aborted"),
  }).getWriter();
  let closed!: (value: { code: number; wasClean: boolean }) => void;
  const result = new Promise<{ code: number; wasClean: boolean }>((resolve) => (closed = resolve));
  const connection = new WebSocketConnection(
    { ...connectionSettings({}), deflate: undefined },
    { open() {}, message() {}, drain() {}, error() {}, close: (code, _reason, wasClean) => closed({ code, wasClean }) },
  );
  const info = {
    remoteAddress: "127.0.0.1",
    remotePort: 1,
    localAddress: "127.0.0.1",
    localPort: 2,
    remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
  };
  connection.attach({
    head: new Uint8Array(0),
    reader,
    writer,
    info,
    close: async () => {
      await writer.close().catch(() => {});
    },
  });
  return { connection, peer, ends, result };
}

test("closing handshake: answered by the peer, the server drops TCP at once; started by the peer, it ends gracefully", async () => {
  // Server first: the peer's answer proves it read everything (our close frame was the last thing sent).
  const ours = memoryConnection();
  ours.connection.close(1000, "bye");
  ours.peer.enqueue(new Uint8Array(encodeClientFrame(0x8, Buffer.from([0x03, 0xe8]))));
  assert.deepEqual(await ours.result, { code: 1000, wasClean: true });
  assert.equal(ours.ends[0], "aborted");

  // Peer first: nothing proves our answer arrived, so the socket must end gracefully (and flush).
  const theirs = memoryConnection();
  theirs.peer.enqueue(new Uint8Array(encodeClientFrame(0x8, Buffer.from([0x03, 0xe8]))));
  assert.deepEqual(await theirs.result, { code: 1000, wasClean: true });
  assert.deepEqual(theirs.ends, ["closed"]);
});
