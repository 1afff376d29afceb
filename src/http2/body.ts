/**
 * A request body as DATA frames deliver it. The handler reads it (a stream or text()/json()/...), and what it has
 * read goes back to the client as flow-control credit (WINDOW_UPDATE): a client can be ahead of the handler by one
 * stream window at most, which is the backpressure of an HTTP/2 upload.
 */
import type { BodySource } from "../http/request.js";
import { HttpError } from "../http/errors.js";

export interface BodyOwner {
  /** The handler took `bytes` bytes: credit the stream window. */
  consumed(bytes: number): void;
  /** The handler asks for the body for the first time (time for a 100 Continue, if the client waits for one). */
  firstRead(): void;
  /** Milliseconds to wait for the client's next DATA frame (Limits.bodyTimeout); the connection's sweep checks it. */
  readonly bodyTimeout: number;
  /** The client stalled for `bodyTimeout`: the stream is reset. */
  stalled(): void;
}

export class Http2Body implements BodySource {
  started = false;
  private chunks: Uint8Array[] = [];
  private ended = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  /** When a wait for the client's next DATA frame gives up (Infinity while none waits). */
  private waitDeadline = Infinity;
  private waitTimedOut = false;
  private stream: ReadableStream<Uint8Array> | undefined;
  /** Bytes received so far (for Content-Length and maxBodySize). */
  received = 0;
  /** True once nobody will read it any more: arriving bytes are dropped (and credited at once). */
  abandoned = false;

  constructor(private readonly owner: BodyOwner) {}

  get finished(): boolean {
    return this.ended && this.chunks.length === 0;
  }

  push(data: Uint8Array): void {
    if (this.abandoned) {
      this.owner.consumed(data.length);
      return;
    }
    if (data.length === 0) return;
    this.chunks.push(data);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended && this.chunks.length === 0) return;
    this.error ??= error;
    this.ended = true;
    this.notify();
  }

  /** Drops what is buffered and what will arrive (the stream is done with it): returns the bytes dropped. */
  discard(): number {
    this.abandoned = true;
    let dropped = 0;
    for (const chunk of this.chunks) dropped += chunk.length;
    this.chunks = [];
    this.fail(new Error("request body discarded"));
    return dropped;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async next(): Promise<Uint8Array | null> {
    if (!this.started) {
      this.started = true;
      this.owner.firstRead();
    }
    while (this.chunks.length === 0) {
      if (this.error !== undefined) throw this.error;
      if (this.ended) return null;
      this.waitDeadline = Date.now() + this.owner.bodyTimeout;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.waitDeadline = Infinity;
      const timedOut = this.waitTimedOut;
      this.waitTimedOut = false;
      if (timedOut && this.chunks.length === 0 && !this.ended) {
        this.fail(new HttpError(408, "request body not received in time"));
        this.owner.stalled();
      }
    }
    const chunk = this.chunks.shift()!;
    this.owner.consumed(chunk.length);
    return chunk;
  }

  /** Called by the connection's deadline sweep: ends a wait for DATA that lasted longer than bodyTimeout. */
  checkDeadline(now: number): void {
    if (now < this.waitDeadline) return;
    this.waitDeadline = Infinity;
    this.waitTimedOut = true;
    this.notify();
  }

  toStream(): ReadableStream<Uint8Array> {
    this.stream ??= new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.next();
          if (chunk) controller.enqueue(chunk);
          else controller.close();
        },
        cancel: () => {
          this.owner.consumed(this.discard());
        },
      },
      { highWaterMark: 0 },
    );
    return this.stream;
  }
}
