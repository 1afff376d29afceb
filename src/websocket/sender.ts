/**
 * The send path of one WebSocket connection, as `ws` has its Sender: encoded frames queue in order, are batched
 * into few socket writes, and count in `bufferedAmount` until written; backpressure is reported and its end
 * announced. The protocol (when a frame may be sent at all) stays with the connection.
 */

import { concatAll } from "../shared/bytes.js";
import { inMicrotask } from "../shared/microtask.js";
import type { ByteWriter } from "../sockets/direct-io.js";

/** Above this many queued bytes a send reports backpressure (-1) and reading from the peer pauses. */
export const SEND_HIGH_WATER_MARK = 64 * 1024;

/** Frames sent in one turn are joined into one socket write when smaller than this. */
const MAX_JOINED_FRAME = 16 * 1024;

/** Send results, as Bun reports them: bytes queued, or one of these. */
export const SendStatus = { Dropped: 0, Backpressure: -1 } as const;

export interface SenderEvents {
  /** `bufferedAmount` fell back under the high-water mark after a send reported backpressure. */
  drain(): void;
  /** A frame still being produced (compressed) failed: the connection cannot go on. */
  frameFailed(error: unknown): void;
  /** The socket refused a write: the connection is gone. */
  writeFailed(): void;
}

interface QueuedFrame {
  frame: Uint8Array | undefined;
  /** Application bytes this frame accounts for in `bufferedAmount`. */
  size: number;
}

export class Sender {
  /** Application bytes queued and not yet written to the socket. */
  bufferedAmount = 0;
  /** The socket's writer, set when the connection is attached (nothing is sent before). */
  writer!: ByteWriter;
  /** Frames waiting behind a frame still being compressed, in order. */
  private readonly queue: QueuedFrame[] = [];
  /** Frames are collected while a chunk from the peer is processed (or until the end of the current turn) and written together. */
  private corked = false;
  private batch: Uint8Array[] = [];
  /** The `bufferedAmount` share of each frame in `batch`. */
  private batchSizes: number[] = [];
  private backpressured = false;
  private drainWaiters: Array<() => void> = [];
  /** The connection is gone: nothing more is written, and nobody waits for a drain. */
  private stopped = false;

  constructor(private readonly events: SenderEvents) {}

  /** Queues an encoded frame behind those sent before it; `size` is its share of `bufferedAmount`. */
  send(frame: Uint8Array, size: number): void {
    if (this.stopped) return;
    this.bufferedAmount += size;
    if (this.queue.length) this.queue.push({ frame, size });
    else this.writeInOrder(frame, size);
  }

  /** Queues a frame still being produced (compressed); frames sent after it wait for it. */
  sendLater(frame: Promise<Uint8Array>, size: number): void {
    const entry: QueuedFrame = { frame: undefined, size };
    this.queue.push(entry);
    this.bufferedAmount += size;
    frame.then(
      (encoded) => {
        entry.frame = encoded;
        this.flushQueue();
      },
      (error: unknown) => this.events.frameFailed(error),
    );
  }

  /** What a send of `size` bytes reports: `size`, or `SendStatus.Backpressure` (and a `drain` event later). */
  sendResult(size: number): number {
    if (this.bufferedAmount <= SEND_HIGH_WATER_MARK) return size;
    this.backpressured = true;
    return SendStatus.Backpressure;
  }

  /** Holds frames back until `uncork()`. */
  cork(): void {
    this.corked = true;
  }

  /** Runs `callback` with sends batched into as few socket writes as possible. */
  batched(callback: () => void): void {
    if (this.corked) {
      callback();
      return;
    }
    this.corked = true;
    try {
      callback();
    } finally {
      this.uncork();
    }
  }

  /** Writes the frames held back. */
  uncork(): void {
    this.corked = false;
    const { batch, batchSizes } = this;
    if (batch.length === 0) return;
    this.batch = [];
    this.batchSizes = [];
    // Small frames are joined into one write; big ones go out as they are (joining would only copy them).
    let group: Uint8Array[] = [];
    let groupSize = 0;
    const flushGroup = () => {
      if (group.length) this.write(concatAll(group), groupSize);
      group = [];
      groupSize = 0;
    };
    batch.forEach((frame, i) => {
      if (frame.length >= MAX_JOINED_FRAME) {
        flushGroup();
        this.write(frame, batchSizes[i]!);
        return;
      }
      group.push(frame);
      groupSize += batchSizes[i]!;
    });
    flushGroup();
  }

  /** Resolves when the send queue is back under the high-water mark (at once when it already is). */
  whenDrained(): Promise<void> {
    if (this.bufferedAmount <= SEND_HIGH_WATER_MARK || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once every queued frame has been written. */
  flushed(): Promise<void> {
    if (this.bufferedAmount === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve)).then(() => this.flushed());
  }

  /** The connection is gone: later frames are dropped, and those waiting for a drain are let go. */
  stop(): void {
    this.stopped = true;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private flushQueue(): void {
    while (this.queue.length && this.queue[0]!.frame) {
      const { frame, size } = this.queue.shift()!;
      this.writeInOrder(frame!, size);
    }
  }

  /** Writes a frame whose turn it is (already counted in `bufferedAmount`). */
  private writeInOrder(frame: Uint8Array, size: number): void {
    if (this.stopped) return;
    if (!this.corked) {
      // Frames sent in the same turn (a burst of publishes, say) leave in one socket write.
      this.corked = true;
      inMicrotask(() => this.uncork());
    }
    this.batch.push(frame);
    this.batchSizes.push(size);
  }

  private write(bytes: Uint8Array, size: number): void {
    this.writer.write(bytes).then(
      () => {
        this.bufferedAmount -= size;
        if (this.bufferedAmount <= SEND_HIGH_WATER_MARK) this.drained();
      },
      () => this.events.writeFailed(),
    );
  }

  private drained(): void {
    for (const resolve of this.drainWaiters.splice(0)) resolve();
    if (this.backpressured) {
      this.backpressured = false;
      this.events.drain();
    }
  }
}
