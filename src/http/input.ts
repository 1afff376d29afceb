import { concatBytes, EMPTY } from "../shared/bytes.js";
import type { ByteReader } from "../sockets/direct-io.js";

const FALSE = Promise.resolve(false);
const READ_DONE: Promise<ReadableStreamReadResult<Uint8Array>> = Promise.resolve({ value: undefined, done: true });

/**
 * The unread bytes of one connection over its socket reader. Request heads accumulate here;
 * body bytes are handed out as views of the chunks the socket delivered, without copying.
 */
export class ConnectionInput {
  private pending: Uint8Array;
  private ended = false;

  /** `head`: bytes already read from the socket (to pick the protocol). */
  constructor(
    readonly reader: ByteReader,
    head: Uint8Array = EMPTY,
  ) {
    this.pending = head;
  }

  /** Unread bytes, without consuming them. */
  get buffered(): Uint8Array {
    return this.pending;
  }

  /** The peer has closed its side and every byte it sent has been read from the socket. */
  get atEnd(): boolean {
    return this.ended;
  }

  /** Reads one more chunk from the socket onto the unread bytes; false at end of stream. */
  fill(): Promise<boolean> {
    // Not an async function: its frame, once per request head, cost more than the rest of a read's bookkeeping.
    if (this.ended) return FALSE;
    return this.reader.read().then(this.add);
  }

  /**
   * `fill()` in two steps, for a loop that awaits the read itself (one microtask turn less than awaiting `fill()`):
   * `input.add(await input.next())`.
   */
  next(): Promise<ReadableStreamReadResult<Uint8Array>> {
    return this.ended ? READ_DONE : this.reader.read();
  }

  /** Puts a chunk from `next()` onto the unread bytes; false at end of stream. Made once per connection. */
  readonly add = ({ value, done }: ReadableStreamReadResult<Uint8Array>): boolean => {
    if (done) {
      this.ended = true;
      return false;
    }
    this.pending = concatBytes(this.pending, value);
    return true;
  };

  /** Consumes `count` unread bytes. */
  skip(count: number): void {
    // Usually the whole chunk (a request head read alone): no new view for nothing.
    this.pending = count === this.pending.length ? EMPTY : this.pending.subarray(count);
  }

  /** Consumes and returns up to `max` bytes, reading from the socket only when nothing is buffered; EMPTY at end. */
  async take(max: number): Promise<Uint8Array> {
    if (this.pending.length === 0) {
      if (this.ended) return EMPTY;
      const { value, done } = await this.reader.read();
      if (done) {
        this.ended = true;
        return EMPTY;
      }
      this.pending = value;
    }
    return this.takeBuffered(max);
  }

  /** Consumes and returns up to `max` of the bytes already buffered (EMPTY when none are). */
  takeBuffered(max: number): Uint8Array {
    const out = this.pending.length <= max ? this.pending : this.pending.subarray(0, max);
    this.pending = this.pending.length <= max ? EMPTY : this.pending.subarray(max);
    return out;
  }

  /** Hands back what is unread (for a protocol that takes the connection over). */
  detach(): Uint8Array {
    const rest = this.pending;
    this.pending = EMPTY;
    return rest;
  }

  /** Makes a pending read finish as end of stream (timeouts, shutdown). */
  cancel(reason?: unknown): void {
    this.ended = true;
    this.reader.cancel(reason).catch(() => {});
  }
}
