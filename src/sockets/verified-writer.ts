/**
 * Writes to Chromium's accepted TCP sockets that are never lost silently.
 *
 * Chromium (verified in 156) drops whole writes on a TCP socket: when `writer.write(chunk)` reaches the socket
 * while its Mojo data pipe to the network service is full, the write promise resolves although not one byte of
 * the chunk was sent (docs/chromium-direct-sockets.md has the cause and the evidence). Such a dropped write
 * always settles within the same microtask checkpoint, while a write longer than the pipe can never complete
 * without waiting for the network service. So every write passed to Chromium here is longer than the pipe
 * whenever possible: if it settles at once it was dropped, nothing of it was sent, and it is written again once
 * the pipe has drained. Small writes are batched into such verifiable writes; a batch too short to verify goes
 * out while the pipe is known to have room, or after waiting up to 10 ms for more data (the one case this
 * cannot guard is described in the doc).
 */

/** Capacity in bytes of the Mojo data pipe Chromium creates for each direction of an accepted TCP socket. */
export const PIPE_CAPACITY = 64 * 1024;
/** The smallest write that can never fit the pipe at once, so its immediate completion proves it was dropped. */
const VERIFIABLE_WRITE = PIPE_CAPACITY + 1;
/** Largest single write handed to Chromium; batches beyond it are split. */
const MAX_NATIVE_WRITE = 1024 * 1024;
/** Bytes queued in the wrapper before `write()` waits (backpressure). */
const WRITE_HIGH_WATER = 2 * MAX_NATIVE_WRITE;
/** Microtask turns within which a dropped write has settled (it takes one in Chromium 156). */
const SETTLE_TURNS = 16;
/**
 * The same for a write that fits the pipe's known free space: it cannot be dropped, and the turns only tell a
 * write taken at once from one that waited for the network service (a task at least), so fewer suffice.
 */
const FITTING_SETTLE_TURNS = 4;
/**
 * Longest a short batch that may not fit the pipe is held back, in the hope that more data arrives to make it
 * verifiable; meanwhile a reading peer lets the network service drain the pipe.
 */
const SHORT_HOLD_MS = 10;
/**
 * Longest wait for the pipe to reach the kernel before a release: a peer whose writes waited longer than half
 * of it gets the lingering close instead.
 */
const MAX_PIPE_DRAIN_MS = 1_000;
/**
 * The least time given the pipe to drain once a peer fell behind: a margin for scheduling (the peer's process and
 * the network service must both run). Measured with a probe write after the last one, 795 downloads: the pipe
 * drained in 1 ms (median) and at most 4.8 ms with nothing else running; under two or four CPU-bound processes
 * on two cores in up to 77 ms, always within twice the longest of the last RECENT_WAITS waits (at least 12 ms to
 * spare with this floor).
 */
const MIN_BACKLOGGED_DRAIN_MS = 20;
/**
 * How many of the latest writes that waited for the network service bound the pipe's drain time. The last 4 missed
 * 3 of those 795 (a starved peer pausing longer than any of its 4 latest waits); 16 missed none.
 */
const RECENT_WAITS = 16;
const RESOLVED = Promise.resolve();

/** Queues, batches and verifies writes so that none is silently dropped by Chromium. */
export class VerifiedWriter {
  readonly #native: WritableStreamDefaultWriter<Uint8Array>;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushing: Promise<void> | undefined;
  #closing = false;
  #failure: { reason: unknown } | undefined;
  /** A lower bound of the free bytes in the pipe; writes no longer than it cannot be dropped. */
  #knownFree = PIPE_CAPACITY;
  #nativeClosed = false;
  #spaceWaiters: (() => void)[] = [];
  #dataWaiters: (() => void)[] = [];
  /** When the oldest queued byte was queued (`performance.now()`). */
  #queuedSince = 0;
  /** When the last write to Chromium completed (`performance.now()`). */
  #lastWriteEnd = 0;
  /** A write had to wait for the network service since the pipe was last known empty: the peer fell behind. */
  #backlogged = false;
  /** Milliseconds the latest writes that waited for the network service took, newest last. */
  #recentWaits: number[] = [];
  /**
   * The buffer that batches are copied into while the flusher runs. The flusher hands one batch at a time to
   * Chromium and waits for it, and Chromium has taken every byte of a write once its promise resolves, so one
   * buffer serves batch after batch of a long response. A fresh megabyte per batch (page faults, zeroing) kept
   * the main thread from refilling the pipe: a 100 MiB download ran at 320 MB/s, with the buffer 460–1,000 (a bare
   * responder writing the 100 MiB in one call: 905–1,222).
   */
  #batchArena: Uint8Array | undefined;
  /** The write on the fitting path (#writeFitting): its length, and the microtask turn it was handed over in. */
  #fittingLength = 0;
  #fittingTurn = 0;

  constructor(native: WritableStreamDefaultWriter<Uint8Array>) {
    this.#native = native;
  }

  /**
   * `signal` (the stream's abort signal) ends a wait for queue space when the stream is aborted; `owned`: the
   * caller will not change the chunk after this call, so it is queued as it is.
   */
  write(chunk: Uint8Array, signal?: AbortSignal, owned = false): Promise<void> {
    // Not an async function: on the common path nothing is awaited, and an async call's frame costs more than
    // the rest of a short write.
    if (this.#failure) return Promise.reject(this.#failure.reason);
    if (!(chunk instanceof Uint8Array)) return Promise.reject(new TypeError("socket writes take Uint8Array chunks"));
    if (chunk.byteLength === 0) return RESOLVED;
    // A stream's writer may reuse its buffer as soon as this promise resolves: its chunks are copied.
    const bytes = owned ? chunk : chunk.slice();
    if (this.#queuedBytes === 0) {
      // Nothing ahead of it and room for it in the pipe: no batching to do, so it skips the queue and the flusher.
      // The clock is read only when the room known is too small: a keep-alive response's write comes sooner.
      if (this.#fitsAtOnce(bytes)) return this.#writeFitting(bytes);
      this.#queuedSince = performance.now();
      // Idle that long, a reading peer has let the network service empty the pipe.
      if (!this.#flushing && this.#queuedSince - this.#lastWriteEnd >= SHORT_HOLD_MS) {
        this.#knownFree = PIPE_CAPACITY;
        this.#backlogged = false;
        if (this.#fitsAtOnce(bytes)) return this.#writeFitting(bytes);
      }
    }
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.byteLength;
    for (const wake of this.#dataWaiters.splice(0)) wake();
    void this.#startFlushing();
    return this.#queuedBytes > WRITE_HIGH_WATER || this.#failure ? this.#roomInQueue(signal) : RESOLVED;
  }

  /** Waits until the queue is back under WRITE_HIGH_WATER; rejects if the connection has failed. */
  async #roomInQueue(signal: AbortSignal | undefined): Promise<void> {
    while (this.#queuedBytes > WRITE_HIGH_WATER && !this.#failure) {
      if (signal?.aborted) this.abort(signal.reason);
      else
        await new Promise<void>((resolve) => {
          // Removed once room comes: a long stream waits many times on the same signal.
          const onAbort = () => resolve();
          signal?.addEventListener("abort", onAbort, { once: true });
          this.#spaceWaiters.push(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          });
        });
    }
    this.#throwIfFailed();
  }

  /** Resolves once every queued byte is in Chromium's pipe; the producer side of the pipe is then closed. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#startFlushing();
    this.#throwIfFailed();
    await this.closeNative();
  }

  /**
   * The peer sent more data after everything written so far had reached the pipe. A peer that waits for each
   * answer before it asks again (HTTP without pipelining, request/response protocols) has read it all, so the
   * network service has emptied the pipe: short writes can go out at once again instead of being held.
   */
  peerSent(): void {
    if (this.#queuedBytes === 0 && !this.#flushing && !this.#backlogged) this.#knownFree = PIPE_CAPACITY;
  }

  /**
   * Milliseconds the pipe's content may need to reach the kernel once everything is written: 0 when the
   * network service kept up with every write; when it fell behind, twice the longest of the latest writes that
   * waited for it, at least MIN_BACKLOGGED_DRAIN_MS, and `undefined` when that twice exceeds MAX_PIPE_DRAIN_MS
   * (the peer may have stopped reading). The peer's own FIN ends the wait sooner.
   * The network service moves the pipe into the kernel only when the kernel's send buffer has room, and the
   * kernel reports room in large steps as the peer reads, so the pipe drains in bursts up to a write's wait
   * apart, not at the average pace (releasing after twice the average pace lost 3 of 60 tails of 20 parallel
   * 10 MiB downloads).
   */
  pipeDrainTime(): number | undefined {
    if (!this.#backlogged) return 0;
    const drainMs = 2 * Math.max(...this.#recentWaits);
    return drainMs <= MAX_PIPE_DRAIN_MS ? Math.ceil(Math.max(drainMs, MIN_BACKLOGGED_DRAIN_MS)) : undefined;
  }

  abort(reason: unknown): void {
    this.#failure ??= { reason };
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#wakeWriters();
  }

  async closeNative(): Promise<void> {
    if (this.#nativeClosed) return;
    this.#nativeClosed = true;
    await (this.#failure ? this.#native.abort(this.#failure.reason) : this.#native.close()).catch(() => undefined);
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.reason;
  }

  #startFlushing(): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queuedBytes > 0 && !this.#failure) {
        const burstGoesOn = !this.#closing && this.#queuedBytes >= 2 * VERIFIABLE_WRITE;
        const fitsForSure = this.#queuedBytes <= this.#knownFree;
        let waited = false;
        if (!burstGoesOn && !fitsForSure) {
          if (!this.#closing) {
            // Let the producer add more (and the network service drain) before a batch that may be too short
            // to verify.
            const before = this.#queuedBytes;
            await nextTask();
            waited = true;
            if (this.#queuedBytes !== before) continue;
          }
          const holdLeft = this.#queuedSince + SHORT_HOLD_MS - performance.now();
          if (this.#queuedBytes < VERIFIABLE_WRITE && holdLeft > 0) {
            await this.#moreDataWithin(holdLeft);
            continue;
          }
        }
        await this.#writeNative(this.#takeBatch(burstGoesOn), waited);
      }
    } catch (error) {
      this.abort(error);
    } finally {
      // An idle connection holds no batch buffer.
      this.#batchArena = undefined;
      this.#wakeWriters();
    }
  }

  /**
   * Up to MAX_NATIVE_WRITE bytes. In a burst the last VERIFIABLE_WRITE bytes stay queued, so that the burst's
   * final batch is long enough to verify; otherwise whatever stays queued is left at least that long.
   */
  #takeBatch(keepReserve: boolean): Uint8Array {
    let size = Math.min(this.#queuedBytes - (keepReserve ? VERIFIABLE_WRITE : 0), MAX_NATIVE_WRITE);
    const rest = this.#queuedBytes - size;
    if (rest > 0 && rest < VERIFIABLE_WRITE) size -= VERIFIABLE_WRITE - rest;
    size = this.#batchSparingLongChunks(size);
    // The network service empties the pipe whole, so a batch of whole pipe sizes tends to leave it exactly
    // full, and the next write would be dropped (and retried). A byte less avoids that.
    if (keepReserve && size % PIPE_CAPACITY === 0) size -= 1;
    // A queued chunk that holds the whole batch goes as a view, not copied: queued chunks never change (write()
    // copies those of callers that may reuse theirs). A 1 MiB file from memory was copied batch by batch before.
    const first = this.#queue[0]!;
    if (first.byteLength >= size) {
      if (first.byteLength === size) this.#queue.shift();
      else this.#queue[0] = first.subarray(size);
      this.#queuedBytes -= size;
      this.#wakeWriters();
      return first.byteLength === size ? first : first.subarray(0, size);
    }
    const batch = this.#batchBuffer(size);
    let filled = 0;
    while (filled < size) {
      const head = this.#queue[0]!;
      const take = Math.min(head.byteLength, size - filled);
      batch.set(take === head.byteLength ? head : head.subarray(0, take), filled);
      if (take === head.byteLength) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
      filled += take;
    }
    this.#queuedBytes -= size;
    this.#wakeWriters();
    return batch;
  }

  /**
   * A batch that would copy most of a long chunk (a response's body from memory) ends early instead, so that the
   * long chunk goes out as views: at the end of a long first chunk; where the long one starts, when the short
   * chunks before it are verifiable together; else at the shortest verifiable length. Only when what stays queued
   * is verifiable too. (A 1 MiB static file behind a connection that had fallen behind was copied whole for every
   * response.)
   */
  #batchSparingLongChunks(size: number): number {
    let before = 0;
    for (const chunk of this.#queue) {
      if (before >= size) return size;
      if (chunk.byteLength >= VERIFIABLE_WRITE) {
        const early = before === 0 ? chunk.byteLength : Math.max(before, VERIFIABLE_WRITE);
        return this.#queuedBytes - early >= VERIFIABLE_WRITE ? Math.min(size, early) : size;
      }
      before += chunk.byteLength;
    }
    return size;
  }

  /**
   * Room for a batch of `size` bytes copied from the queue (only the flusher takes batches, one at a time). A short
   * batch gets a small buffer of its own: a burst of small writes would otherwise pay for a zeroed megabyte.
   */
  #batchBuffer(size: number): Uint8Array {
    if (size <= PIPE_CAPACITY) return new Uint8Array(size);
    // Grown as batches need (a burst of small writes reaches MAX_NATIVE_WRITE; a head before a file needs 64 KiB).
    if (!this.#batchArena || this.#batchArena.byteLength < size) this.#batchArena = new Uint8Array(Math.max(size, 2 * PIPE_CAPACITY));
    return this.#batchArena.subarray(0, size);
  }

  /** Resolves when more data is queued, or after `ms`. */
  #moreDataWithin(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#dataWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wakeWriters(): void {
    for (const wake of this.#spaceWaiters.splice(0)) wake();
  }

  /** Nothing queued or being written, and `bytes` fit the pipe's known free space: they cannot be dropped. */
  #fitsAtOnce(bytes: Uint8Array): boolean {
    return !this.#flushing && !this.#closing && bytes.byteLength <= this.#knownFree;
  }

  /**
   * Hands over a write that fits the pipe, without the queue; what is queued meanwhile is flushed once it is taken.
   * The write's promise resolves at once: the data is with Chromium.
   */
  #writeFitting(bytes: Uint8Array): Promise<void> {
    this.#fittingLength = bytes.byteLength;
    this.#fittingTurn = countTurnsFrom(FITTING_SETTLE_TURNS);
    this.#flushing = this.#native.write(bytes).then(this.#fittingTaken, this.#fittingFailed);
    // Read after the write, not before: it tells how long a write that waited took, and when the writes ended.
    this.#queuedSince = performance.now();
    return RESOLVED;
  }

  // The fitting write's reactions are made once per writer (one such write at a time): per-write closures and
  // promises cost more than the rest of a keep-alive response's bookkeeping.
  readonly #fittingTaken = (): Promise<void> | undefined => {
    const atOnce = microtaskTurn - this.#fittingTurn < FITTING_SETTLE_TURNS;
    // #writeFitting read the clock just after this write; taken at once, it ended then too (a clock reading crosses
    // into Blink: one less per keep-alive response).
    this.#lastWriteEnd = atOnce ? this.#queuedSince : performance.now();
    this.#tookShort(this.#fittingLength, atOnce, this.#lastWriteEnd - this.#queuedSince);
    this.#flushing = undefined;
    return this.#queuedBytes > 0 ? this.#startFlushing() : undefined;
  };

  readonly #fittingFailed = (error: unknown): void => {
    this.#lastWriteEnd = performance.now();
    this.#flushing = undefined;
    this.abort(error);
  };

  async #writeNative(bytes: Uint8Array, waited: boolean): Promise<void> {
    try {
      await this.#handOver(bytes, waited);
    } finally {
      this.#lastWriteEnd = performance.now();
    }
  }

  async #handOver(bytes: Uint8Array, waited: boolean): Promise<void> {
    if (bytes.byteLength >= VERIFIABLE_WRITE) {
      // Timed from the first attempt: dropped attempts waited for the pipe too.
      const start = performance.now();
      for (let attempt = 0; ; attempt++) {
        if (!(await settlesAtOnce(this.#native.write(bytes)))) {
          this.#waitedFor(performance.now() - start);
          break;
        }
        // Dropped whole: the pipe was full. Try again once the network service had a chance to drain it.
        await retryPause(attempt);
      }
      this.#knownFree = 0;
      return;
    }
    // A short batch (a burst under 64 KiB + 1 bytes) cannot be verified; it is safe while the pipe has room.
    if (this.#knownFree <= 0 && !waited) await nextTask();
    const start = performance.now();
    const atOnce = await settlesAtOnce(this.#native.write(bytes));
    this.#tookShort(bytes.byteLength, atOnce, performance.now() - start);
  }

  /** A short batch settled: at once, taking room in the pipe, or after `ms` waiting for the network service. */
  #tookShort(length: number, atOnce: boolean, ms: number): void {
    if (atOnce) {
      this.#knownFree -= length;
    } else {
      this.#knownFree = 0;
      this.#waitedFor(ms);
    }
  }

  /** A write had to wait `ms` for the network service to take it. */
  #waitedFor(ms: number): void {
    this.#backlogged = true;
    this.#recentWaits.push(ms);
    if (this.#recentWaits.length > RECENT_WAITS) this.#recentWaits.shift();
  }
}

/**
 * Microtask turns, counted by one chain of reactions shared by every writer while some write needs them: a turn is
 * one reaction to a settled promise (queueMicrotask() costs 0.5–0.6 µs a call in Chromium's binding, a reaction
 * 0.03 µs, measured in the app's window). The chain stops once no write needs more turns, so it never keeps the
 * microtask checkpoint from ending; a write that settles in a later task therefore always sees all its turns
 * counted.
 */
let microtaskTurn = 0;
let countedUntil = 0;
let counting = false;

function countTurn(): void {
  microtaskTurn++;
  if (microtaskTurn < countedUntil) RESOLVED.then(countTurn);
  else counting = false;
}

/** Makes sure `turns` more turns are counted from now; returns the current turn. */
function countTurnsFrom(turns: number): number {
  countedUntil = Math.max(countedUntil, microtaskTurn + turns);
  if (!counting) {
    counting = true;
    RESOLVED.then(countTurn);
  }
  return microtaskTurn;
}

/** True if `promise` settled within `turns` microtask turns (no task ran in between); rejects as it does. */
function settlesAtOnce(promise: Promise<void>, turns = SETTLE_TURNS): Promise<boolean> {
  const from = countTurnsFrom(turns);
  return promise.then(() => microtaskTurn - from < turns);
}

/** After a dropped write: the next task first, then growing intervals while the peer does not read. */
function retryPause(attempt: number): Promise<void> {
  if (attempt < 8) return nextTask();
  return new Promise((resolve) => setTimeout(resolve, Math.min(2 ** (attempt - 8), 50)));
}

/** Resolves in a later task (not a microtask), without the clamping of nested `setTimeout`s. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}
