/**
 * Seeded, bounded fuzzing: mutated requests and frames must only ever be answered or refused. The parser and
 * the frame receiver may throw only their own protocol errors; the server, fed mutated requests and frames over
 * real sockets, answers each connection with well-formed HTTP (or closes it), never dies, and keeps serving.
 * A failure names the seed and the case, so it can be replayed.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { createDemoApp } from "../app/demo.js";
import { serve, type Server } from "../src/index.js";
import { indexOfHeadEnd } from "../src/http/bytes.js";
import { HttpError } from "../src/http/errors.js";
import { defaultLimits } from "../src/http/limits.js";
import { bodyFraming, parseRequestHead } from "../src/http/parser.js";
import { ProtocolError } from "../src/websocket/frames.js";
import { Receiver } from "../src/websocket/receiver.js";
import { encodeClientFrame, RawClient } from "./fixtures/websocket/raw-client.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261121);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const latin1 = (text: string) => new Uint8Array(Buffer.from(text, "latin1"));

const REQUESTS = [
  "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: fuzz\r\nAccept: */*\r\n\r\n",
  "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
  "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://a.test\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Private-Network: true\r\n\r\n",
  "GET /download?bytes=1000&chunked=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nPOST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiHEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
];
/** Bytes a mutation inserts: the ones HTTP's grammar turns on, and a few it never allows. */
const INTERESTING = latin1(" \t\r\n:;,=\"\\/?#%0123456789aAzZ-\x00\x7f\xff\x80");

/** One to four edits of a valid request: byte changes, insertions, deletions, duplicated or cut spans. */
function mutate(input: Uint8Array, next: () => number): Uint8Array {
  let bytes = Array.from(input);
  const edits = 1 + Math.floor(next() * 4);
  for (let edit = 0; edit < edits; edit++) {
    const at = Math.floor(next() * (bytes.length + 1));
    const pick = () => (next() < 0.7 ? INTERESTING[Math.floor(next() * INTERESTING.length)]! : Math.floor(next() * 256));
    const kind = Math.floor(next() * 5);
    if (kind === 0 && at < bytes.length) bytes[at] = pick();
    else if (kind === 1) bytes.splice(at, 0, pick());
    else if (kind === 2) bytes.splice(at, 1 + Math.floor(next() * 8));
    else if (kind === 3) bytes.splice(at, 0, ...bytes.slice(at, at + 1 + Math.floor(next() * 40)));
    else bytes = bytes.slice(0, at);
  }
  return Uint8Array.from(bytes);
}

describe("fuzz: the parsers throw only their own protocol errors", () => {
  it("parseRequestHead and bodyFraming on 20,000 mutated request heads", () => {
    const next = random(SEED);
    let parsed = 0;
    for (let round = 0; round < 20_000; round++) {
      const input = mutate(latin1(REQUESTS[round % REQUESTS.length]!), next);
      const end = indexOfHeadEnd(input);
      if (end === -1) continue;
      try {
        bodyFraming(parseRequestHead(input, end + 2, defaultLimits), defaultLimits);
        parsed++;
      } catch (error) {
        if (!(error instanceof HttpError) || error.status < 400 || error.status > 505) {
          assert.fail(`seed ${SEED} round ${round}: ${JSON.stringify(Buffer.from(input).toString("latin1"))} threw ${String(error)}`);
        }
      }
    }
    // Mutations are mostly small: a good share must still parse, or the fuzzing explores nothing.
    assert.ok(parsed > 1000, `only ${parsed} mutated heads parsed`);
  });

  it("the WebSocket receiver on 3,000 streams of mutated frames, with and without compression", async () => {
    const next = random(SEED + 1);
    const events = { message() {}, ping() {}, pong() {}, close() {} };
    for (let round = 0; round < 3000; round++) {
      const compression = round % 2 === 0;
      const frames = Buffer.concat([
        encodeClientFrame(1, "hello ".repeat(1 + Math.floor(next() * 40)), { fin: next() < 0.8 }),
        encodeClientFrame(0, Buffer.from([0xc3, 0xa9, 0xff].slice(0, 1 + Math.floor(next() * 3)))),
        encodeClientFrame(9, "ping"),
        encodeClientFrame(2, Buffer.alloc(Math.floor(next() * 300), 7), { rsv: compression && next() < 0.5 ? 4 : 0 }),
        encodeClientFrame(8, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])),
      ]);
      const input = mutate(new Uint8Array(frames), next);
      const receiver = new Receiver(events, { maxPayloadLength: 64 * 1024, compression });
      try {
        // Fed in random pieces, as a socket delivers them.
        for (let offset = 0; offset < input.length; ) {
          const size = 1 + Math.floor(next() * 64);
          await receiver.push(input.subarray(offset, offset + size));
          offset += size;
        }
      } catch (error) {
        if (!(error instanceof ProtocolError)) {
          assert.fail(`seed ${SEED} round ${round}: ${Buffer.from(input).toString("hex")} threw ${String(error)}`);
        }
      }
    }
  });
});

/** Sends `bytes` in random pieces, then ends our side; resolves with everything the server sent before closing. */
function exchange(port: number, bytes: Uint8Array, next: () => number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within 10 s; got ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 200))}`));
    }, 10_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => {}); // a reset after a refusal is an answer too
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.on("connect", () => {
      for (let offset = 0; offset < bytes.length; ) {
        const size = 1 + Math.floor(next() * 200);
        socket.write(bytes.subarray(offset, offset + size));
        offset += size;
      }
      socket.end();
    });
  });
}

/** The status codes of the responses in `wire`, in order; throws at the first byte that is not a response. */
function statuses(wire: Buffer): number[] {
  const found: number[] = [];
  const text = wire.toString("latin1");
  let at = 0;
  while (at < text.length) {
    const match = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(text.slice(at));
    if (!match) throw new Error(`not a response at byte ${at}: ${JSON.stringify(text.slice(at, at + 80))}`);
    const status = Number(match[1]);
    found.push(status);
    const headEnd = text.indexOf("\r\n\r\n", at);
    if (headEnd === -1) throw new Error("response head never ends");
    const head = text.slice(at, headEnd).toLowerCase();
    let bodyStart = headEnd + 4;
    const length = /\r\ncontent-length: (\d+)/.exec(head);
    // An answer to HEAD declares a length but has no body: the next response follows at once.
    const bodyless = status === 100 || /^HTTP\/1\.1 \d{3} /.test(text.slice(bodyStart, bodyStart + 13));
    if (bodyless) at = bodyStart;
    else if (length) at = bodyStart + Number(length[1]);
    else if (/\r\ntransfer-encoding: chunked/.test(head)) {
      // A body cut short by the close is how a response ends whose request body broke off midway.
      for (;;) {
        const lineEnd = text.indexOf("\r\n", bodyStart);
        if (lineEnd === -1) return found;
        if (!/^[0-9a-f]+$/.test(text.slice(bodyStart, lineEnd))) throw new Error("broken chunked body");
        const size = parseInt(text.slice(bodyStart, lineEnd), 16);
        bodyStart = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      at = bodyStart;
    } else at = text.length; // close-delimited, or no body (HEAD/204/304 answers have none to skip)
  }
  return found;
}

describe("fuzz: the server answers mutated traffic and keeps serving", { timeout: 180_000 }, () => {
  let server: Server;
  let failures: unknown[];

  before(async () => {
    failures = [];
    server = serve({ ...createDemoApp(), port: 0, hostname: "127.0.0.1", onError: (error) => {
      failures.push(error);
      return new Response("handler failed", { status: 500 });
    } });
    await server.ready();
  });
  after(async () => {
    await server.close(true);
  });

  it("600 connections of mutated requests, in random pieces: each gets well-formed responses or a close", async () => {
    const next = random(SEED + 2);
    for (let batch = 0; batch < 12; batch++) {
      const inputs = Array.from({ length: 50 }, (_, i) => mutate(latin1(REQUESTS[(batch * 50 + i) % REQUESTS.length]!), next));
      const answers = await Promise.all(inputs.map((input) => exchange(server.port, input, next)));
      answers.forEach((wire, i) => {
        try {
          for (const status of statuses(wire)) assert.ok(status < 500 || status === 501 || status === 505, `status ${status}`);
        } catch (error) {
          assert.fail(`seed ${SEED} batch ${batch} #${i}: ${JSON.stringify(Buffer.from(inputs[i]!).toString("latin1"))}: ${String(error)}`);
        }
      });
    }
    assert.deepEqual(failures, [], "the demo handlers threw");
    const hello = await fetch(`${server.url}hello`);
    assert.equal(await hello.text(), "Hello, world!");
  });

  it("300 WebSocket connections of mutated frames: echoes or a close frame, and the server keeps serving", async () => {
    const next = random(SEED + 3);
    for (let batch = 0; batch < 6; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const client = await RawClient.connect(server.port, "/ws", next() < 0.5 ? { "Sec-WebSocket-Extensions": "permessage-deflate" } : {});
          try {
            assert.equal(client.status, 101);
            const frames = Buffer.concat([
              encodeClientFrame(1, "fuzz ".repeat(1 + Math.floor(next() * 30))),
              encodeClientFrame(2, Buffer.alloc(Math.floor(next() * 200), 1), { fin: next() < 0.7 }),
              encodeClientFrame(0, "tail"),
              encodeClientFrame(8, Buffer.from([0x03, 0xe8])),
            ]);
            client.write(Buffer.from(mutate(new Uint8Array(frames), next)));
            // A frame cut short would leave the server waiting for the rest: our FIN ends that wait.
            client.end();
            // Whatever comes back must parse as frames, ending with the server's close or the connection's end.
            for (let frames = 0; frames < 100; frames++) {
              const frame = await client.nextFrame();
              if (!frame || frame.opcode === 8) break;
            }
          } finally {
            client.destroy();
          }
        }),
      );
    }
    const hello = await fetch(`${server.url}hello`);
    assert.equal(await hello.text(), "Hello, world!");
  });
});
