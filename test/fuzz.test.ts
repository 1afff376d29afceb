/**
 * Seeded, bounded fuzzing (test/fixtures/fuzz.ts): mutated requests and frames must only ever be answered or
 * refused. The parser and the frame receiver may throw only their own protocol errors; the server, fed mutated
 * requests and frames over real sockets, answers each connection with well-formed HTTP (or closes it), never
 * dies, and keeps serving. `FUZZ_SEED=n` replays another seed; the same traffic runs inside Chromium in
 * test/iwa-http-wire.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createDemoApp } from "../app/demo.js";
import { serve, type Server } from "../src/index.js";
import { indexOfHeadEnd } from "../src/shared/bytes.js";
import { HttpError } from "../src/http/errors.js";
import { defaultLimits } from "../src/http/limits.js";
import { bodyFraming, parseRequestHead } from "../src/http/parser.js";
import { buildSignedWebBundle, generateSigningKey, parseSignedWebBundle, verifySignedWebBundle } from "../src/bundle/index.js";
import { ProtocolError } from "../src/websocket/frames.js";
import { Receiver } from "../src/websocket/receiver.js";
import { fuzzHttpTraffic, fuzzWebSocketTraffic, latin1, mutate, random, REQUESTS, SEED } from "./fixtures/fuzz.js";
import { encodeClientFrame } from "./fixtures/websocket/raw-client.js";

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

describe("fuzz: a damaged signed web bundle is refused with a message, never a crash", () => {
  it("parseSignedWebBundle and verifySignedWebBundle on 1,500 mutated bundles", async () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    const manifest = {
      name: "fuzz",
      version: "1.0.0",
      start_url: "/",
      scope: "/",
      icons: [{ src: "/icon.svg", sizes: "256x256", type: "image/svg+xml" }],
      permissions_policy: { "cross-origin-isolated": ["self"] },
    };
    const built = await buildSignedWebBundle({
      keys: [await generateSigningKey("ed25519")],
      files: [
        { path: "/index.html", body: encode("<!doctype html><p>fuzz") },
        { path: "/.well-known/manifest.webmanifest", body: encode(JSON.stringify(manifest)) },
        {
          path: "/icon.svg",
          body: encode('<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256"/></svg>'),
        },
      ],
    });
    const next = random(SEED + 4);
    let verified = 0;
    for (let round = 0; round < 1500; round++) {
      const input = mutate(built.bytes, next);
      const changed = input.length !== built.bytes.length || input.some((byte, i) => byte !== built.bytes[i]);
      const describe = `seed ${SEED} round ${round}`;
      for (const [what, check] of [
        ["parse", async () => parseSignedWebBundle(input)],
        ["verify", async () => verifySignedWebBundle(input).then(() => verified++)],
      ] as const) {
        try {
          await check();
        } catch (error) {
          // Errors about the data are plain Errors saying what is wrong; a TypeError or RangeError is a crash.
          const crash = [TypeError, RangeError, SyntaxError, ReferenceError].some((type) => error instanceof type);
          assert.ok(error instanceof Error && !crash && error.message.length > 10, `${describe} ${what}: ${String(error)}`);
        }
      }
      if (!changed) verified--;
    }
    assert.equal(verified, 0, "a bundle changed after signing verified");
  });
});

describe("fuzz: the server answers mutated traffic and keeps serving", { timeout: 180_000 }, () => {
  let server: Server;
  let failures: unknown[];

  before(async () => {
    failures = [];
    server = serve({
      ...createDemoApp(),
      port: 0,
      hostname: "127.0.0.1",
      onError: (error) => {
        failures.push(error);
        return new Response("handler failed", { status: 500 });
      },
    });
    await server.ready();
  });
  after(async () => {
    await server.close(true);
  });

  it("600 connections of mutated requests, in random pieces: each gets well-formed responses or a close", async () => {
    await fuzzHttpTraffic(server.port);
    assert.deepEqual(failures, [], "the demo handlers threw");
    assert.equal(await (await fetch(`${server.url}hello`)).text(), "Hello, world!");
  });

  it("300 WebSocket connections of mutated frames: echoes or a close frame, and the server keeps serving", async () => {
    await fuzzWebSocketTraffic(server.port);
    assert.equal(await (await fetch(`${server.url}hello`)).text(), "Hello, world!");
  });
});
