/**
 * Writing ASN.1 DER values, enough for an X.509 certificate: each function returns one whole element (tag, length,
 * contents), ready to be nested with `sequence`, `set` or `explicit`. Reading: `der.ts`.
 */

import { concatAll } from "./bytes.js";
import { Tag, encodeTlv, encodeUnsignedInteger } from "./der.js";

export function sequence(children: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(Tag.Sequence, concatAll(children));
}

/** A DER `SET OF`: its elements sorted by their encodings, as DER requires. */
export function set(children: readonly Uint8Array[]): Uint8Array {
  const sorted = [...children].sort(compareBytes);
  return encodeTlv(Tag.Set, concatAll(sorted));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** `[n] EXPLICIT`: the element wrapped in a constructed context-specific tag. */
export function explicit(tagNumber: number, element: Uint8Array): Uint8Array {
  return encodeTlv(contextTag(tagNumber, true), element);
}

/** `[n] IMPLICIT`: contents under a context-specific tag, primitive unless `constructed`. */
export function implicit(tagNumber: number, contents: Uint8Array, constructed = false): Uint8Array {
  return encodeTlv(contextTag(tagNumber, constructed), contents);
}

function contextTag(tagNumber: number, constructed: boolean): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) throw new Error(`DER: context tag ${tagNumber} out of range`);
  return 0x80 | (constructed ? 0x20 : 0) | tagNumber;
}

export function boolean(value: boolean): Uint8Array {
  return encodeTlv(0x01, new Uint8Array([value ? 0xff : 0x00]));
}

export function nullValue(): Uint8Array {
  return encodeTlv(Tag.Null, new Uint8Array(0));
}

/** A non-negative INTEGER, from a safe integer or the big-endian bytes of its magnitude. */
export function integer(value: number | Uint8Array): Uint8Array {
  if (typeof value !== "number") return encodeUnsignedInteger(value.length === 0 ? new Uint8Array(1) : value);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`DER: ${value} is not a non-negative safe integer`);
  const bytes: number[] = [];
  for (let rest = value; bytes.length === 0 || rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return encodeUnsignedInteger(new Uint8Array(bytes));
}

/** A BIT STRING of whole bytes, or of `bits.length * 8 - unusedBits` bits (the unused low bits must be zero). */
export function bitString(bits: Uint8Array, unusedBits = 0): Uint8Array {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bits.length === 0 && unusedBits !== 0)) {
    throw new Error(`DER: ${unusedBits} unused bits in a BIT STRING of ${bits.length} bytes`);
  }
  if (bits.length > 0 && bits[bits.length - 1]! & ((1 << unusedBits) - 1)) throw new Error("DER: unused BIT STRING bits must be zero");
  const contents = new Uint8Array(bits.length + 1);
  contents[0] = unusedBits;
  contents.set(bits, 1);
  return encodeTlv(Tag.BitString, contents);
}

/**
 * A named bit list (like KeyUsage) as DER has it: bit 0 is the first byte's high bit, and trailing zero bits are
 * left out.
 */
export function namedBits(setBits: readonly number[]): Uint8Array {
  if (setBits.length === 0) return bitString(new Uint8Array(0));
  const highest = Math.max(...setBits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const bit of setBits) {
    if (!Number.isInteger(bit) || bit < 0) throw new Error(`DER: bad bit number ${bit}`);
    bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  }
  return bitString(bytes, 7 - (highest & 7));
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return encodeTlv(Tag.OctetString, bytes);
}

/** An OBJECT IDENTIFIER from its dotted form ("1.2.840.10045.4.3.2"). */
export function objectIdentifier(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map((arc) => (/^(0|[1-9]\d*)$/.test(arc) ? Number(arc) : Number.NaN));
  const [first, second] = arcs;
  if (
    arcs.length < 2 ||
    arcs.some((arc) => !Number.isSafeInteger(arc)) ||
    first! > 2 ||
    (first! < 2 && second! >= 40) ||
    second! > Number.MAX_SAFE_INTEGER - 80
  ) {
    throw new Error(`DER: "${dotted}" is not an object identifier`);
  }
  const bytes: number[] = [];
  for (const arc of [first! * 40 + second!, ...arcs.slice(2)]) {
    const base128: number[] = [];
    for (let rest = arc; base128.length === 0 || rest > 0; rest = Math.floor(rest / 128)) base128.unshift(rest % 128);
    bytes.push(...base128.map((digit, i) => (i < base128.length - 1 ? digit | 0x80 : digit)));
  }
  return encodeTlv(Tag.ObjectIdentifier, new Uint8Array(bytes));
}

export function utf8String(text: string): Uint8Array {
  return encodeTlv(Tag.Utf8String, new TextEncoder().encode(text));
}

/** An IA5String (ASCII): throws on any other character. */
export function ia5String(text: string): Uint8Array {
  return encodeTlv(Tag.Ia5String, asciiBytes(text));
}

function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) throw new Error(`DER: "${text}" is not ASCII`);
    bytes[i] = code;
  }
  return bytes;
}

/** A time as RFC 5280 §4.1.2.5 wants it: UTCTime through 2049, GeneralizedTime from 2050, to the second, in UTC. */
export function time(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 1950 || year > 9999) throw new Error(`DER: ${date} is not a certificate time`);
  const two = (n: number) => String(n).padStart(2, "0");
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year < 2050 ? encodeTlv(Tag.UtcTime, asciiBytes(two(year % 100) + rest)) : encodeTlv(Tag.GeneralizedTime, asciiBytes(year + rest));
}
