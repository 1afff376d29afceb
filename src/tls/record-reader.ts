/**
 * Splits the bytes of a socket into TLS records (RFC 8446 §5.1), bounded: a record longer than TLSCiphertext
 * allows is a record_overflow, an unknown content type an unexpected_message.
 */

import type { ByteReader } from "../sockets/direct-io.js";
import { AlertDescription, TlsAlertError } from "./alert.js";
import { ContentType, MAX_CIPHERTEXT, RECORD_HEADER_LENGTH } from "./record-cipher.js";

export interface TlsRecord {
  type: number;
  /** The 5 header bytes (the AEAD's additional data). */
  header: Uint8Array;
  body: Uint8Array;
}

const KNOWN_TYPES = new Set<number>(Object.values(ContentType));

export class RecordReader {
  /** Unread bytes: a list of chunks, the first read from `offset`. */
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private buffered = 0;

  constructor(private readonly reader: ByteReader) {}

  /** The next record; undefined at the end of the stream (a partial record there is a decode_error). */
  async next(): Promise<TlsRecord | undefined> {
    while (this.buffered < RECORD_HEADER_LENGTH) {
      if (!(await this.fill())) return this.endOfStream();
    }
    const header = this.peek(RECORD_HEADER_LENGTH);
    const type = header[0]!;
    const length = (header[3]! << 8) | header[4]!;
    if (!KNOWN_TYPES.has(type)) throw new TlsAlertError(AlertDescription.unexpected_message, `record of unknown content type ${type}`);
    if (header[1] !== 3) throw new TlsAlertError(AlertDescription.decode_error, "record version is not 3.x");
    if (length > MAX_CIPHERTEXT) throw new TlsAlertError(AlertDescription.record_overflow, `record of ${length} bytes`);
    while (this.buffered < RECORD_HEADER_LENGTH + length) {
      if (!(await this.fill())) return this.endOfStream();
    }
    const whole = this.take(RECORD_HEADER_LENGTH + length);
    return { type, header: whole.subarray(0, RECORD_HEADER_LENGTH), body: whole.subarray(RECORD_HEADER_LENGTH) };
  }

  cancel(reason?: unknown): Promise<void> {
    return this.reader.cancel(reason);
  }

  private endOfStream(): undefined {
    if (this.buffered > 0) throw new TlsAlertError(AlertDescription.decode_error, "the connection ended inside a record");
    return undefined;
  }

  private async fill(): Promise<boolean> {
    const { value, done } = await this.reader.read();
    if (done) return false;
    if (value.length) {
      this.chunks.push(value);
      this.buffered += value.length;
    }
    return true;
  }

  /** The first `length` buffered bytes, copied only when they span chunks. */
  private peek(length: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= length) return first.subarray(this.offset, this.offset + length);
    return this.gather(length, false);
  }

  private take(length: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= length) {
      const view = first.subarray(this.offset, this.offset + length);
      this.offset += length;
      this.buffered -= length;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return view;
    }
    return this.gather(length, true);
  }

  private gather(length: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(length);
    let filled = 0;
    let index = 0;
    let offset = this.offset;
    while (filled < length) {
      const chunk = this.chunks[index]!;
      const count = Math.min(length - filled, chunk.length - offset);
      out.set(chunk.subarray(offset, offset + count), filled);
      filled += count;
      offset += count;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    }
    if (consume) {
      this.chunks.splice(0, index);
      this.offset = offset;
      this.buffered -= length;
    }
    return out;
  }
}
