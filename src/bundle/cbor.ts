/**
 * The subset of CBOR (RFC 8949) that web bundles and integrity blocks use: unsigned integers, byte and text
 * strings, arrays and maps of definite length, written in the deterministic encoding (shortest heads, map keys
 * sorted bytewise by their encoding). The reader is a cursor over the input so callers know every item's offset
 * and byte strings come back as views, not copies.
 */

import { concatAll } from "../shared/bytes.js";

export const MajorType = { Unsigned: 0, Bytes: 2, Text: 3, Array: 4, Map: 5 } as const;
export type MajorType = (typeof MajorType)[keyof typeof MajorType];

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes taken by the head of an item whose argument is `value` (a count, a length or the integer itself). */
export function headLength(value: number): number {
  if (value < 24) return 1;
  if (value < 0x100) return 2;
  if (value < 0x10000) return 3;
  if (value < 0x100000000) return 5;
  return 9;
}

/** Writes the head of an item at `offset`; returns the offset after it. */
export function writeHead(target: Uint8Array, offset: number, major: MajorType, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`CBOR: ${value} is not an unsigned safe integer`);
  const type = major << 5;
  if (value < 24) {
    target[offset] = type | value;
    return offset + 1;
  }
  const view = new DataView(target.buffer, target.byteOffset + offset);
  if (value < 0x100) {
    target[offset] = type | 24;
    target[offset + 1] = value;
    return offset + 2;
  }
  if (value < 0x10000) {
    target[offset] = type | 25;
    view.setUint16(1, value);
    return offset + 3;
  }
  if (value < 0x100000000) {
    target[offset] = type | 26;
    view.setUint32(1, value);
    return offset + 5;
  }
  target[offset] = type | 27;
  view.setUint32(1, Math.floor(value / 0x100000000));
  view.setUint32(5, value % 0x100000000);
  return offset + 9;
}

export function encodeHead(major: MajorType, value: number): Uint8Array {
  const head = new Uint8Array(headLength(value));
  writeHead(head, 0, major, value);
  return head;
}

export function encodeUnsigned(value: number): Uint8Array {
  return encodeHead(MajorType.Unsigned, value);
}

export function encodeBytes(bytes: Uint8Array): Uint8Array {
  return concatAll([encodeHead(MajorType.Bytes, bytes.length), bytes]);
}

export function encodeText(text: string): Uint8Array {
  const utf8 = textEncoder.encode(text);
  return concatAll([encodeHead(MajorType.Text, utf8.length), utf8]);
}

/** An array of already-encoded items. */
export function encodeArray(items: readonly Uint8Array[]): Uint8Array {
  return concatAll([encodeHead(MajorType.Array, items.length), ...items]);
}

/** Orders encoded map keys the deterministic way: bytewise on their encodings. */
export function compareEncodedKeys(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** A map of already-encoded keys and values, keys sorted deterministically; duplicate keys are an error. */
export function encodeMap(entries: ReadonlyArray<readonly [key: Uint8Array, value: Uint8Array]>): Uint8Array {
  const sorted = [...entries].sort(([a], [b]) => compareEncodedKeys(a, b));
  for (let i = 1; i < sorted.length; i++) {
    if (compareEncodedKeys(sorted[i - 1]![0], sorted[i]![0]) === 0) throw new Error("CBOR: duplicate map key");
  }
  return concatAll([encodeHead(MajorType.Map, sorted.length), ...sorted.flat()]);
}

/** Malformed or unexpected CBOR; the message names what and where. */
export class CborError extends Error {}

const majorNames = ["unsigned integer", "negative integer", "byte string", "text string", "array", "map", "tag", "simple value"];

/**
 * Reads items one at a time from `bytes`, starting at `offset`. With `deterministic`, any head that is not in
 * its shortest form is rejected (callers check map key order with `MapKeyOrder`).
 */
export class CborReader {
  private static readonly maxDepth = 16;

  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
    private readonly deterministic = false,
  ) {}

  get atEnd(): boolean {
    return this.offset >= this.bytes.length;
  }

  private fail(what: string): never {
    throw new CborError(`${what} at byte ${this.offset}`);
  }

  /** Reads a head of the expected major type and returns its argument. */
  readHead(expected: MajorType, what: string): number {
    if (this.offset >= this.bytes.length) this.fail(`unexpected end of data reading ${what}`);
    const initial = this.bytes[this.offset]!;
    const major = initial >> 5;
    if (major !== expected) this.fail(`expected ${what} (${majorNames[expected]}), found ${majorNames[major]}`);
    const info = initial & 0x1f;
    if (info < 24) {
      this.offset += 1;
      return info;
    }
    if (info > 27) this.fail(`indefinite or reserved length in ${what}`);
    const size = 1 << (info - 24);
    if (this.offset + 1 + size > this.bytes.length) this.fail(`unexpected end of data reading ${what}`);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.offset + 1, size);
    let value: number;
    if (size === 1) value = view.getUint8(0);
    else if (size === 2) value = view.getUint16(0);
    else if (size === 4) value = view.getUint32(0);
    else {
      const high = view.getUint32(0);
      if (high >= 0x200000) this.fail(`${what} is too large`);
      value = high * 0x100000000 + view.getUint32(4);
    }
    if (this.deterministic && headLength(value) !== 1 + size) this.fail(`${what} is not in the shortest encoding`);
    this.offset += 1 + size;
    return value;
  }

  readUnsigned(what: string): number {
    return this.readHead(MajorType.Unsigned, what);
  }

  /** A view into the input, not a copy. */
  readBytes(what: string): Uint8Array {
    const length = this.readHead(MajorType.Bytes, what);
    return this.take(length, what);
  }

  readText(what: string): string {
    const length = this.readHead(MajorType.Text, what);
    try {
      return textDecoder.decode(this.take(length, what));
    } catch (error) {
      if (error instanceof CborError) throw error;
      throw new CborError(`${what} is not valid UTF-8 (before byte ${this.offset})`);
    }
  }

  readArrayLength(what: string): number {
    return this.readHead(MajorType.Array, what);
  }

  readMapLength(what: string): number {
    return this.readHead(MajorType.Map, what);
  }

  /** Skips one complete item of any of the supported types. */
  skip(what: string, depth = 0): void {
    if (depth > CborReader.maxDepth) this.fail(`${what} is nested too deeply`);
    if (this.offset >= this.bytes.length) this.fail(`unexpected end of data reading ${what}`);
    const major = this.bytes[this.offset]! >> 5;
    switch (major) {
      case MajorType.Unsigned:
        this.readUnsigned(what);
        return;
      case MajorType.Bytes:
        this.readBytes(what);
        return;
      case MajorType.Text:
        this.readText(what);
        return;
      case MajorType.Array: {
        const count = this.readArrayLength(what);
        for (let i = 0; i < count; i++) this.skip(what, depth + 1);
        return;
      }
      case MajorType.Map: {
        const count = this.readMapLength(what);
        for (let i = 0; i < count * 2; i++) this.skip(what, depth + 1);
        return;
      }
      default:
        this.fail(`unsupported ${majorNames[major]} in ${what}`);
    }
  }

  private take(length: number, what: string): Uint8Array {
    if (length > this.bytes.length - this.offset) this.fail(`${what} runs past the end of the data`);
    const view = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return view;
  }
}

/**
 * Tracks map keys as they are read: rejects duplicates always, and keys out of deterministic order when asked.
 * `keyStart` is the reader offset before the key, `keyEnd` after it.
 */
export class MapKeyOrder {
  private previous: Uint8Array | undefined;
  private readonly seen = new Set<string>();

  constructor(
    private readonly what: string,
    private readonly deterministic: boolean,
  ) {}

  check(reader: CborReader, keyStart: number, label: string): void {
    const encoded = reader.bytes.subarray(keyStart, reader.offset);
    if (this.seen.has(label)) throw new CborError(`duplicate key ${JSON.stringify(label)} in ${this.what}`);
    this.seen.add(label);
    if (this.deterministic && this.previous && compareEncodedKeys(this.previous, encoded) > 0) {
      throw new CborError(`keys of ${this.what} are not in deterministic order (at ${JSON.stringify(label)})`);
    }
    this.previous = encoded;
  }
}
