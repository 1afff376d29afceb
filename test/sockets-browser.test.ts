/**
 * The browser socket wrapper against a stand-in for Chromium 156's accepted TCPSocket: a 64 KiB pipe drained by
 * a "network service" a slice per task, whose writable resolves a write at once *without taking it* when the
 * pipe is full (the defect in docs/chromium-direct-sockets.md), and which discards the pipe's content when both
 * streams are closed. The real thing is covered by the end-to-end tests in Chromium (iwa-integrity).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { wrapAcceptedSocket } from "../src/sockets/browser.js";
import { PIPE_CAPACITY } from "../src/sockets/verified-writer.js";
import { socketIo } from "../src/sockets/direct-io.js";
import type { TCPSocket } from "../src/sockets/types.js";

const KiB = 1024;
const MiB = 1024 * KiB;

interface FakeOptions {
  /** Bytes the network service moves from the pipe to the peer per task; 0 stalls it. */
  drainPerTask?: number;
  /** The network service's turns come this many ms apart (default: every task). */
  pumpEveryMs?: number;
  /**
   * The gaps in ms between the network service's turns, repeated: a kernel whose send buffer is full reports
   * room in large steps as the peer reads, so the pipe drains in bursts with pauses between them.
   */
  pumpGapsMs?: number[];
  /** The kernel's send buffer is full between turns: what the pipe holds at the release is lost. */
  kernelFull?: boolean;
  /** Makes every native write fail, as on a reset connection. */
  failWrites?: boolean;
  /**
   * The network service frees just the room a waiting write needs, so each write that had to wait leaves the
   * pipe exactly full: the schedule under which the next write is dropped.
   */
  exactFill?: boolean;
}

const fakes: FakeChromiumSocket[] = [];
after(() => {
  for (const fake of fakes) fake.stop();
});

/** A stand-in for the native socket, with what the peer received and whether it saw the connection end. */
class FakeChromiumSocket {
  readonly delivered: Uint8Array[] = [];
  deliveredBytes = 0;
  /**
   * Bytes left in the pipe when the connection was released: Chromium first hands the pipe to the kernel, which
   * takes it if the peer reads (drainPerTask > 0); what the kernel cannot take is thrown away.
   */
  discardedAtRelease = -1;
  released = false;
  /** Two reads were pending on the readable at once: Chromium 156's renderer crashes when data then arrives. */
  concurrentReads = false;
  /** Writes handed to the native writable. */
  nativeWrites = 0;
  /** Bytes of native writes that were views into each buffer (a copy's bytes count for the copy's buffer). */
  readonly nativeBytesByBuffer = new Map<ArrayBufferLike, number>();
  drainPerTask: number;
  readonly socket: TCPSocket;
  #pipe: Uint8Array[] = [];
  #pipeBytes = 0;
  #waitingWrite: (() => void) | undefined;
  #waitingRest = 0;
  readonly #exactFill: boolean;
  readonly #pumpEveryMs: number | undefined;
  readonly #pumpGapsMs: number[] | undefined;
  #pumps = 0;
  readonly #kernelFull: boolean;
  #peer!: ReadableStreamDefaultController<Uint8Array>;
  #readableDone = false;
  #writableDone = false;
  #markClosed!: () => void;
  #stopped = false;

  constructor(options: FakeOptions = {}) {
    fakes.push(this);
    this.drainPerTask = options.drainPerTask ?? 16 * KiB;
    this.#pumpEveryMs = options.pumpEveryMs;
    this.#pumpGapsMs = options.pumpGapsMs;
    this.#kernelFull = options.kernelFull ?? false;
    this.#exactFill = options.exactFill ?? false;
    const closed = new Promise<void>((resolve) => (this.#markClosed = resolve));
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#peer = controller;
      },
      cancel: () => this.#streamDone("readable"),
    });
    const getReader = readable.getReader.bind(readable) as () => ReadableStreamDefaultReader<Uint8Array>;
    readable.getReader = (() => {
      const reader = getReader();
      const read = reader.read.bind(reader);
      let pending = 0;
      reader.read = async () => {
        if (++pending > 1) this.concurrentReads = true;
        try {
          return await read();
        } finally {
          pending--;
        }
      };
      return reader;
    }) as typeof readable.getReader;
    const writable = new WritableStream<Uint8Array>(
      {
        write: (chunk, controller) => {
          if (options.failWrites) throw new Error("connection reset");
          this.nativeWrites++;
          this.nativeBytesByBuffer.set(chunk.buffer, (this.nativeBytesByBuffer.get(chunk.buffer) ?? 0) + chunk.byteLength);
          const written = this.#write(chunk.slice());
          if (!written) return undefined;
          // Like Chromium, an abort rejects the write in progress.
          let onAbort!: () => void;
          const aborted = new Promise<void>((_, reject) => {
            onAbort = () => reject(controller.signal.reason);
            controller.signal.addEventListener("abort", onAbort, { once: true });
          });
          return Promise.race([written, aborted]).finally(() => controller.signal.removeEventListener("abort", onAbort));
        },
        close: () => this.#streamDone("writable"),
        abort: () => this.#streamDone("writable"),
      },
      new CountQueuingStrategy({ highWaterMark: 1 }),
    );
    this.socket = {
      opened: Promise.resolve({ readable, writable, remoteAddress: "127.0.0.1", remotePort: 5, localAddress: "127.0.0.1", localPort: 6 }),
      closed,
      close: async () => {},
    };
    this.#pump();
  }

  peerSends(bytes: Uint8Array): void {
    this.#peer.enqueue(bytes);
  }

  /** The peer sends its FIN (lost if the connection is already released). */
  peerCloses(): void {
    if (this.released) return;
    this.#peer.close();
    this.#streamDone("readable");
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(this.deliveredBytes);
    let offset = 0;
    for (const piece of this.delivered) {
      all.set(piece, offset);
      offset += piece.byteLength;
    }
    return all;
  }

  /** Like Chromium 156: a full pipe makes the write complete at once, taking nothing. */
  #write(chunk: Uint8Array): Promise<void> | undefined {
    let rest = chunk;
    const put = () => {
      const room = PIPE_CAPACITY - this.#pipeBytes;
      const piece = rest.subarray(0, Math.min(room, rest.byteLength));
      if (piece.byteLength > 0) this.#pipe.push(piece);
      this.#pipeBytes += piece.byteLength;
      rest = rest.subarray(piece.byteLength);
    };
    if (this.#pipeBytes === PIPE_CAPACITY) return undefined;
    put();
    if (rest.byteLength === 0) return undefined;
    return new Promise<void>((resolve) => {
      this.#waitingRest = rest.byteLength;
      this.#waitingWrite = () => {
        put();
        this.#waitingRest = rest.byteLength;
        if (rest.byteLength > 0) return;
        this.#waitingWrite = undefined;
        resolve();
      };
    });
  }

  /** Ends the network service's work loop (the test is over). */
  stop(): void {
    this.#stopped = true;
  }

  #pump(): void {
    if (this.released || this.#stopped) return;
    let budget = this.drainPerTask;
    if (this.#exactFill && this.#waitingWrite) {
      budget = Math.min(budget, this.#waitingRest - (PIPE_CAPACITY - this.#pipeBytes));
    }
    while (budget > 0 && this.#pipe.length > 0) {
      const head = this.#pipe[0]!;
      const take = Math.min(budget, head.byteLength);
      this.delivered.push(head.subarray(0, take));
      this.deliveredBytes += take;
      this.#pipeBytes -= take;
      budget -= take;
      if (take === head.byteLength) this.#pipe.shift();
      else this.#pipe[0] = head.subarray(take);
    }
    if (this.#pipeBytes < PIPE_CAPACITY) this.#waitingWrite?.();
    const gap = this.#pumpGapsMs ? this.#pumpGapsMs[this.#pumps++ % this.#pumpGapsMs.length] : this.#pumpEveryMs;
    if (gap === undefined) setImmediate(() => this.#pump());
    else setTimeout(() => this.#pump(), gap);
  }

  #streamDone(side: "readable" | "writable"): void {
    if (side === "readable") this.#readableDone = true;
    else this.#writableDone = true;
    if (this.#readableDone && this.#writableDone && !this.released) {
      this.released = true;
      if (this.drainPerTask > 0 && !this.#kernelFull) {
        this.delivered.push(...this.#pipe);
        this.deliveredBytes += this.#pipeBytes;
        this.#pipeBytes = 0;
      }
      this.discardedAtRelease = this.#pipeBytes;
      this.#markClosed();
    }
  }
}

/** Byte i of a stream is i % 251, so a missing, repeated or reordered write shows at once. */
function pattern(offset: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (offset + i) % 251;
  return bytes;
}

function firstMismatch(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== i % 251) return i;
  return -1;
}

async function writeAll(writer: WritableStreamDefaultWriter<Uint8Array>, total: number, sizeAt: (index: number) => number) {
  for (let offset = 0, index = 0; offset < total; index++) {
    const size = Math.min(sizeAt(index), total - offset);
    await writer.write(pattern(offset, size));
    offset += size;
  }
}

async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe("browser sockets: the stand-in reproduces Chromium's defect", () => {
  it("loses whole writes when written to directly", async () => {
    const fake = new FakeChromiumSocket();
    const { writable } = await fake.socket.opened;
    const writer = writable.getWriter();
    await writeAll(writer, 2 * MiB, () => 4 * KiB);
    await until(() => fake.deliveredBytes > 0, "the first bytes");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(fake.deliveredBytes < 2 * MiB, `expected losses, got all ${fake.deliveredBytes} bytes`);
  });
});

describe("browser sockets: verified writes", () => {
  const cases: [string, (index: number) => number][] = [
    ["4 KiB writes", () => 4 * KiB],
    ["64 KiB writes", () => 64 * KiB],
    ["1 MiB writes", () => MiB],
    ["mixed odd sizes", (index) => [1, 3000, 65_535, 65_537, 200_000, 17][index % 6]!],
  ];
  for (const [name, sizeAt] of cases)
    for (const exactFill of [false, true]) {
      it(`delivers 4 MiB in ${name} whole and in order${exactFill ? ", the pipe left full after each wait" : ""}`, async () => {
        const fake = new FakeChromiumSocket({ exactFill });
        const { writable } = await wrapAcceptedSocket(fake.socket, 100).opened;
        const writer = writable.getWriter();
        await writeAll(writer, 4 * MiB, sizeAt);
        await writer.close();
        await until(() => fake.deliveredBytes >= 4 * MiB, "all bytes");
        assert.equal(fake.deliveredBytes, 4 * MiB);
        assert.equal(firstMismatch(fake.bytes()), -1);
      });
    }

  it("delivers 2 MiB of 4 KiB writes made a task apart whole, though the peer reads slower", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 2 * KiB });
    const { writable } = await wrapAcceptedSocket(fake.socket, 100).opened;
    const writer = writable.getWriter();
    for (let offset = 0; offset < 2 * MiB; offset += 4 * KiB) {
      await writer.write(pattern(offset, 4 * KiB));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writer.close();
    await until(() => fake.deliveredBytes >= 2 * MiB, "all bytes", 20_000);
    assert.equal(fake.deliveredBytes, 2 * MiB);
    assert.equal(firstMismatch(fake.bytes()), -1);
  });

  it("a long stream that waits for room many times leaves no abort listeners behind", async () => {
    const leaks: string[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === "MaxListenersExceededWarning") leaks.push(warning.message);
    };
    process.on("warning", onWarning);
    try {
      const fake = new FakeChromiumSocket({ drainPerTask: 64 * KiB });
      const wrapped = wrapAcceptedSocket(fake.socket, 10_000);
      const { writable } = await wrapped.opened;
      // 16 MiB in 256 KiB writes against a 2 MiB queue: dozens of waits on the stream's one abort signal.
      await writeAll(writable.getWriter(), 16 * MiB, () => 256 * KiB);
      await until(() => fake.deliveredBytes >= 16 * MiB, "all bytes");
      // Node reports the warning on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(leaks, []);
      assert.equal(firstMismatch(fake.bytes()), -1);
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("keeps every byte while the peer stalls, then delivers when it reads again", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 0 });
    const { writable } = await wrapAcceptedSocket(fake.socket, 100).opened;
    const writer = writable.getWriter();
    const writing = writeAll(writer, 3 * MiB, () => 32 * KiB);
    await new Promise((resolve) => setTimeout(resolve, 100));
    fake.drainPerTask = 64 * KiB;
    await writing;
    await writer.close();
    await until(() => fake.deliveredBytes >= 3 * MiB, "all bytes");
    assert.equal(firstMismatch(fake.bytes()), -1);
  });

  it("a failed native write rejects the write and errors the stream", async () => {
    const fake = new FakeChromiumSocket({ failWrites: true });
    const { writable } = await wrapAcceptedSocket(fake.socket, 100).opened;
    const writer = writable.getWriter();
    await assert.rejects(async () => {
      for (let i = 0; i < 100; i++) await writer.write(pattern(0, 200 * KiB));
    }, /connection reset/);
  });
});

describe("browser sockets: request and response", () => {
  it("answers to a peer that asks again only after each answer go out at once, not held: it has read the previous ones", async () => {
    const fake = new FakeChromiumSocket();
    const { readable, writable } = await wrapAcceptedSocket(fake.socket, 50).opened;
    const reader = readable.getReader();
    const writer = writable.getWriter();
    // 2,000 answers of 100 bytes: three times what the pipe holds, so without the peer's evidence they would be held.
    for (let i = 0; i < 2_000; i++) {
      fake.peerSends(pattern(0, 40));
      await reader.read();
      const before = fake.nativeWrites;
      await writer.write(pattern(0, 100));
      for (let turn = 0; turn < 20 && fake.nativeWrites === before; turn++) await undefined;
      assert.equal(fake.nativeWrites, before + 1, `answer ${i} was not handed to Chromium at once`);
      await until(() => fake.deliveredBytes >= 100 * (i + 1), `answer ${i} to arrive`);
    }
  });
});

describe("browser sockets: responses from memory", () => {
  it("a long body after its short head goes to Chromium as views of the body, not copied, on a peer that fell behind", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 8 * KiB });
    const { writer } = socketIo(await wrapAcceptedSocket(fake.socket, 100).opened);
    const bodies: Uint8Array[] = [];
    let offset = 0;
    for (let response = 0; response < 4; response++) {
      const head = pattern(offset, 200);
      const body = pattern(offset + 200, MiB);
      bodies.push(body);
      offset += 200 + MiB;
      // As the HTTP writer does: the head unawaited, then the body (both owned by the writer from here on).
      writer.write(head).catch(() => {});
      await writer.write(body);
    }
    await writer.close();
    await until(() => fake.deliveredBytes >= offset, "all bytes", 20_000);
    assert.equal(fake.deliveredBytes, offset);
    assert.equal(firstMismatch(fake.bytes()), -1);
    // Only enough of each body to make its head's batch verifiable (64 KiB + 1) may be copied.
    for (const [index, body] of bodies.entries()) {
      const asViews = fake.nativeBytesByBuffer.get(body.buffer) ?? 0;
      assert.ok(asViews >= MiB - PIPE_CAPACITY - 1, `body ${index}: only ${asViews} of its bytes went as views`);
    }
  });
});

describe("browser sockets: closing", () => {
  it("a peer that keeps up is released at once after writer.close() and reader.cancel(), losing nothing", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 4 * KiB });
    const wrapped = wrapAcceptedSocket(fake.socket, 10_000);
    const { readable, writable } = await wrapped.opened;
    const writer = writable.getWriter();
    await writeAll(writer, MiB + 12_345, () => 100 * KiB);
    await writer.close();
    await readable.getReader().cancel();
    const started = performance.now();
    await wrapped.closed;
    assert.ok(performance.now() - started < 5_000, "waited for the lingering close");
    assert.equal(fake.discardedAtRelease, 0);
    assert.equal(fake.deliveredBytes, MiB + 12_345);
    assert.equal(firstMismatch(fake.bytes()), -1);
  });

  it("a peer that fell behind keeps the socket until it closes: its pipe may not drain", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 4 * KiB, pumpEveryMs: 10 });
    const wrapped = wrapAcceptedSocket(fake.socket, 10_000);
    const { readable, writable } = await wrapped.opened;
    const writer = writable.getWriter();
    await writeAll(writer, 300 * KiB, () => 100 * KiB);
    await writer.close();
    await readable.getReader().cancel();
    await until(() => fake.deliveredBytes >= 300 * KiB, "all bytes");
    assert.equal(fake.released, false, "released while the peer may still be reading");
    fake.peerCloses();
    await wrapped.closed;
    assert.equal(fake.discardedAtRelease, 0);
    assert.equal(firstMismatch(fake.bytes()), -1);
  });

  /**
   * Responses of each size to a peer whose kernel is full between the network service's turns (what the pipe holds
   * at the release is lost), the turns `pumpGapsMs` apart: each is released without the lingering close, whole.
   */
  async function releasedWhole(sizesKiB: number[], pumpGapsMs: number[]): Promise<void> {
    for (const size of sizesKiB.map((k) => k * KiB + 7)) {
      const fake = new FakeChromiumSocket({ drainPerTask: 64 * KiB, pumpGapsMs, kernelFull: true });
      const wrapped = wrapAcceptedSocket(fake.socket, 10_000);
      const { readable, writable } = await wrapped.opened;
      const writer = writable.getWriter();
      await writeAll(writer, size, () => 100 * KiB);
      await writer.close();
      await readable.getReader().cancel();
      const started = performance.now();
      await wrapped.closed;
      assert.ok(performance.now() - started < 1_000, `${size} B: waited for the lingering close`);
      assert.equal(fake.discardedAtRelease, 0, `${size} B: released with bytes in the pipe`);
      assert.equal(fake.deliveredBytes, size);
      assert.equal(firstMismatch(fake.bytes()), -1);
    }
  }

  it("a peer whose pipe drains in bursts is released only once the last burst took the pipe, losing nothing", async () => {
    // Whole pipes move every 1-2 ms, then nothing for 40 ms: the average pace says a pipe drains in about 10 ms.
    // Responses of several sizes end at different points of that cycle, some just before the long pause.
    await releasedWhole([300, 700, 1_000, 1_300, 1_700, 2_100], [1, 2, 1, 40]);
  });

  it("a peer whose pipe pauses longer only every few bursts is released only once its pipe drained, losing nothing", async () => {
    // Eight quick bursts, then 45 ms of nothing: the last few writes before a release may all have waited briefly,
    // while the pipe's last content meets the long pause (twice the longest of the last 4 waits lost such tails).
    await releasedWhole([300, 500, 700, 900, 1_100, 1_300, 1_500, 1_700], [1, 1, 1, 1, 1, 1, 1, 1, 45]);
  });

  it("socket.close() with locked streams flushes, then releases after lingerMs if a slow peer stays", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 16 * KiB, pumpEveryMs: 10 });
    const wrapped = wrapAcceptedSocket(fake.socket, 50);
    const { readable, writable } = await wrapped.opened;
    readable.getReader();
    const writer = writable.getWriter();
    await writer.write(pattern(0, 300 * KiB));
    await wrapped.close();
    assert.equal(fake.released, false, "released before lingerMs while the peer may still read");
    await wrapped.closed;
    assert.equal(fake.released, true);
    assert.equal(fake.deliveredBytes, 300 * KiB);
    assert.equal(firstMismatch(fake.bytes()), -1);
  });

  it("never has two native reads pending: a peer sending after our close meets one read at a time", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 4 * KiB, pumpEveryMs: 10 });
    const wrapped = wrapAcceptedSocket(fake.socket, 50);
    const { readable, writable } = await wrapped.opened;
    const reader = readable.getReader();
    const pendingRead = reader.read();
    const writer = writable.getWriter();
    // A peer that fell behind: the close lingers, reading (and dropping) what the peer still sends.
    await writer.write(pattern(0, 200 * KiB));
    await writer.close();
    const closing = wrapped.close();
    fake.peerSends(pattern(0, 10));
    fake.peerSends(pattern(10, 10));
    await closing;
    fake.peerCloses();
    await wrapped.closed;
    await pendingRead;
    assert.equal(fake.concurrentReads, false, "two reads were pending on the native readable");
  });

  it("passes the peer's bytes through and reports its end", async () => {
    const fake = new FakeChromiumSocket();
    const { readable } = await wrapAcceptedSocket(fake.socket, 50).opened;
    const reader = readable.getReader();
    fake.peerSends(pattern(0, 1000));
    fake.peerSends(pattern(1000, 24));
    fake.peerCloses();
    const first = await reader.read();
    const second = await reader.read();
    assert.deepEqual([first.value?.byteLength, second.value?.byteLength], [1000, 24]);
    assert.deepEqual(await reader.read(), { value: undefined, done: true });
  });

  it("abort drops what is queued and releases at once", async () => {
    const fake = new FakeChromiumSocket({ drainPerTask: 0 });
    const wrapped = wrapAcceptedSocket(fake.socket, 10_000);
    const { writable } = await wrapped.opened;
    const writer = writable.getWriter();
    void writer.write(pattern(0, 500 * KiB)).catch(() => {});
    await writer.abort(new Error("handler gave up"));
    await wrapped.closed;
    assert.equal(fake.released, true);
  });
});
