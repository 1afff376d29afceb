/**
 * The little ASN.1 DER the key formats need: walking PKCS#8, SPKI and SEC1 structures to find the algorithm,
 * wrapping a SEC1 EC key into PKCS#8, and converting ECDSA signatures between DER and the raw r||s form that
 * Web Crypto produces.
 */

import { concatAll } from "./bytes.js";

export const Tag = {
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  ObjectIdentifier: 0x06,
  Sequence: 0x30,
} as const;

export interface Tlv {
  tag: number;
  /** The contents, a view into the input. */
  value: Uint8Array;
  /** Offset just past this element. */
  end: number;
}

export function readTlv(bytes: Uint8Array, offset: number): Tlv {
  if (offset + 2 > bytes.length) throw new Error("DER: truncated element");
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || start + count > bytes.length) throw new Error("DER: unsupported length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    start += count;
  }
  if (start + length > bytes.length) throw new Error("DER: element runs past the end");
  return { tag, value: bytes.subarray(start, start + length), end: start + length };
}

/** The elements directly inside a constructed element's contents. */
export function readChildren(contents: Uint8Array): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = 0; offset < contents.length; ) {
    const child = readTlv(contents, offset);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const length = value.length;
  const head = length < 0x80 ? [tag, length] : length < 0x100 ? [tag, 0x81, length] : [tag, 0x82, length >> 8, length & 0xff];
  const out = new Uint8Array(head.length + length);
  out.set(head);
  out.set(value, head.length);
  return out;
}

export function encodeSequence(children: readonly Uint8Array[]): Uint8Array {
  return encodeTlv(Tag.Sequence, concatAll(children));
}

/** Object identifiers the key formats use, as their DER contents. */
export const Oid = {
  ed25519: new Uint8Array([0x2b, 0x65, 0x70]), // 1.3.101.112
  ecPublicKey: new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]), // 1.2.840.10045.2.1
  prime256v1: new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]), // 1.2.840.10045.3.1.7
} as const;

/** An unsigned big-endian integer as a DER INTEGER (leading zeros dropped, a zero added before a high bit). */
function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const padded = trimmed[0]! & 0x80 ? new Uint8Array([0, ...trimmed]) : trimmed;
  return encodeTlv(Tag.Integer, padded);
}

/** Web Crypto's ECDSA signature (r||s, each `size` bytes) as DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function ecdsaRawToDer(raw: Uint8Array, size = 32): Uint8Array {
  if (raw.length !== size * 2) throw new Error(`ECDSA: expected a ${size * 2}-byte signature, got ${raw.length}`);
  return encodeSequence([encodeUnsignedInteger(raw.subarray(0, size)), encodeUnsignedInteger(raw.subarray(size))]);
}

/** A DER ECDSA signature as r||s for Web Crypto; throws on anything that is not strict DER of that shape. */
export function ecdsaDerToRaw(der: Uint8Array, size = 32): Uint8Array {
  const sequence = readTlv(der, 0);
  if (sequence.tag !== Tag.Sequence || sequence.end !== der.length) throw new Error("ECDSA signature is not a DER sequence");
  const parts = readChildren(sequence.value);
  if (parts.length !== 2 || parts.some((part) => part.tag !== Tag.Integer)) {
    throw new Error("ECDSA signature is not a DER sequence of two integers");
  }
  const raw = new Uint8Array(size * 2);
  parts.forEach((part, index) => {
    const value = part.value;
    const minimal = value.length > 0 && !(value[0]! & 0x80) && !(value.length > 1 && value[0] === 0 && !(value[1]! & 0x80));
    if (!minimal) throw new Error("ECDSA signature integer is not minimally encoded");
    const magnitude = value[0] === 0 ? value.subarray(1) : value;
    if (magnitude.length > size) throw new Error("ECDSA signature integer is too large");
    raw.set(magnitude, index * size + size - magnitude.length);
  });
  return raw;
}
