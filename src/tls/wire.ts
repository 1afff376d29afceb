/**
 * TLS presentation-language primitives (RFC 8446 §3): big-endian integers and length-prefixed vectors, read with
 * bounds checks (every overrun is a decode_error alert) and written into fresh arrays.
 */

import { concatAll } from "../shared/bytes.js";
import { AlertDescription, TlsAlertError } from "./alert.js";

export class WireReader {
  private offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    /** What is being read, for the alert's message. */
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private take(length: number): Uint8Array {
    if (length > this.remaining) throw new TlsAlertError(AlertDescription.decode_error, `${this.what} is truncated`);
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }

  u8(): number {
    return this.take(1)[0]!;
  }

  u16(): number {
    const b = this.take(2);
    return (b[0]! << 8) | b[1]!;
  }

  u24(): number {
    const b = this.take(3);
    return (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  }

  bytesOf(length: number): Uint8Array {
    return this.take(length);
  }

  vector8(): Uint8Array {
    return this.take(this.u8());
  }

  vector16(): Uint8Array {
    return this.take(this.u16());
  }

  vector24(): Uint8Array {
    return this.take(this.u24());
  }

  /** A vector16 of u16 values (cipher suites, groups, signature schemes, versions use u8 length: see list8OfU16). */
  list16OfU16(): number[] {
    return u16List(this.vector16(), this.what);
  }

  list8OfU16(): number[] {
    return u16List(this.vector8(), this.what);
  }

  /** Fails unless everything was read: trailing bytes are malformed input too. */
  end(): void {
    if (this.remaining !== 0) throw new TlsAlertError(AlertDescription.decode_error, `${this.what} has trailing bytes`);
  }
}

function u16List(bytes: Uint8Array, what: string): number[] {
  if (bytes.length % 2 !== 0) throw new TlsAlertError(AlertDescription.decode_error, `${what}: a list of 16-bit values has an odd length`);
  const values: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) values.push((bytes[i]! << 8) | bytes[i + 1]!);
  return values;
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

export function u16(value: number): Uint8Array {
  return Uint8Array.of(value >> 8, value & 0xff);
}

export function u24(value: number): Uint8Array {
  return Uint8Array.of(value >> 16, (value >> 8) & 0xff, value & 0xff);
}

export function vector8(...pieces: Uint8Array[]): Uint8Array {
  const body = concatAll(pieces);
  return concatAll([u8(body.length), body]);
}

export function vector16(...pieces: Uint8Array[]): Uint8Array {
  const body = concatAll(pieces);
  return concatAll([u16(body.length), body]);
}

export function vector24(...pieces: Uint8Array[]): Uint8Array {
  const body = concatAll(pieces);
  return concatAll([u24(body.length), body]);
}

/** One extension: type and vector16 body. */
export function extension(type: number, body: Uint8Array): Uint8Array {
  return concatAll([u16(type), vector16(body)]);
}

/** A handshake message: type, u24 length, body. */
export function handshakeMessage(type: number, body: Uint8Array): Uint8Array {
  return concatAll([u8(type), u24(body.length), body]);
}
