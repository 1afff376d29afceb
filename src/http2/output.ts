/**
 * The connection's outgoing bytes: frames queued in one turn go to the socket in one write, in the order they were
 * queued (so a header block and the frames after it never interleave with another stream's). `backlog` counts the
 * bytes not yet accepted by the socket: the reader stops reading while it is high, so that a client that sends
 * but does not read (PINGs, SETTINGS) cannot make the server queue replies without bound.
 */
import { concatAll } from "../shared/bytes.js";
import { inMicrotask } from "../shared/microtask.js";
import type { ByteWriter } from "../sockets/direct-io.js";

interface Batch {
  frames: Uint8Array[];
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class Output {
  backlog = 0;
  failed: unknown;
  private batch: Batch | undefined;
  private drainWaiters: Array<() => void> = [];
  /** The last write handed to the socket: `flush()` waits for it. */
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(private readonly writer: ByteWriter) {}

  /** Queues a frame (or several, in one buffer); resolves once the socket accepted it. */
  send(bytes: Uint8Array): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    this.backlog += bytes.length;
    let batch = this.batch;
    if (!batch) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const done = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      batch = this.batch = { frames: [], done, resolve, reject };
      inMicrotask(() => this.write());
    }
    batch.frames.push(bytes);
    return batch.done;
  }

  /** Queues a frame whose write nobody waits for (control frames). */
  post(bytes: Uint8Array): void {
    this.send(bytes).catch(() => {});
  }

  private write(): void {
    const batch = this.batch!;
    this.batch = undefined;
    const bytes = concatAll(batch.frames);
    this.lastWrite = this.writer.write(bytes).then(
      () => {
        this.backlog -= bytes.length;
        batch.resolve();
        if (this.backlog === 0 || this.drainWaiters.length) this.wakeDrainWaiters();
      },
      (error: unknown) => {
        this.failed ??= error ?? new Error("socket write failed");
        batch.reject(this.failed);
        this.wakeDrainWaiters();
      },
    );
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Wakes whoever waits for `progress()` (the connection is closing). */
  interrupt(): void {
    this.wakeDrainWaiters();
  }

  /** Resolves when a write completed (or failed): the reader checks `backlog` again then. */
  progress(): Promise<void> {
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves when everything queued so far is written (or the socket failed). */
  async flush(): Promise<void> {
    while (this.batch) await this.batch.done.catch(() => {});
    await this.lastWrite.catch(() => {});
  }
}
