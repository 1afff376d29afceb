/**
 * The little ASN.1 DER that keys and certificates need: reading elements (PKCS#8, SPKI, SEC1, X.509), wrapping
 * SEC1 EC keys and PKCS#1 RSA keys into the PKCS#8 that Web Crypto imports, and converting ECDSA signatures
 * between DER and the raw r||s form that Web Crypto produces. Writing whole structures: `der-writer.ts`.
 */

import { concatAll } from "./bytes.js";

export const Tag = {
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  ObjectIdentifier: 0x06,
  Utf8String: 0x0c,
  PrintableString: 0x13,
  Ia5String: 0x16,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  Sequence: 0x30,
  Set: 0x31,
} as const;

export interface Tlv {
  tag: number;
  /** Offset of the tag: `bytes.subarray(start, end)` is the whole element. */
  start: number;
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
  return { tag, start: offset, value: bytes.subarray(start, start + length), end: start + length };
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
  if (length >= 0x1000000) throw new Error("DER: element too long");
  const head =
    length < 0x80
      ? [tag, length]
      : length < 0x100
        ? [tag, 0x81, length]
        : length < 0x10000
          ? [tag, 0x82, length >> 8, length & 0xff]
          : [tag, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
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
  secp384r1: new Uint8Array([0x2b, 0x81, 0x04, 0x00, 0x22]), // 1.3.132.0.34
  rsaEncryption: new Uint8Array([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]), // 1.2.840.113549.1.1.1
} as const;

/** An OID's DER contents in dotted form ("1.2.840.10045.2.1"), for messages and lookups. */
export function oidToString(contents: Uint8Array): string {
  if (contents.length === 0) throw new Error("DER: empty object identifier");
  const arcs: number[] = [];
  let value = 0;
  for (const byte of contents) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new Error("DER: object identifier arc too large");
    if (!(byte & 0x80)) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    }
  }
  if (contents[contents.length - 1]! & 0x80) throw new Error("DER: truncated object identifier");
  return arcs.join(".");
}

/**
 * A SEC1 `ECPrivateKey` (what `openssl ecparam -genkey` writes as "EC PRIVATE KEY") wrapped as PKCS#8. The curve is
 * the one the key names in its parameters, else `curve`; the caller checks that it is one it supports.
 */
export function sec1ToPkcs8(sec1: Uint8Array, curve?: Uint8Array): { pkcs8: Uint8Array; curve: Uint8Array } {
  const outer = readTlv(sec1, 0);
  if (outer.tag !== Tag.Sequence) throw new Error("SEC1 EC private key is not a DER sequence");
  const fields = readChildren(outer.value);
  if (fields[0]?.tag !== Tag.Integer || fields[1]?.tag !== Tag.OctetString) throw new Error("malformed SEC1 EC private key");
  const parameters = fields.find((field) => field.tag === 0xa0);
  const named = parameters ? readTlv(parameters.value, 0) : undefined;
  if (named && named.tag !== Tag.ObjectIdentifier) throw new Error("SEC1 EC private key has explicit curve parameters, not a named curve");
  const oid = named?.value ?? curve;
  if (!oid) throw new Error("SEC1 EC private key does not name its curve");
  return {
    pkcs8: encodeSequence([
      encodeTlv(Tag.Integer, new Uint8Array([0])),
      encodeSequence([encodeTlv(Tag.ObjectIdentifier, Oid.ecPublicKey), encodeTlv(Tag.ObjectIdentifier, oid)]),
      encodeTlv(Tag.OctetString, sec1.subarray(0, outer.end)),
    ]),
    curve: oid,
  };
}

/** A PKCS#1 `RSAPrivateKey` ("RSA PRIVATE KEY", `openssl genrsa -traditional`) wrapped as PKCS#8. */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  const outer = readTlv(pkcs1, 0);
  if (outer.tag !== Tag.Sequence) throw new Error("PKCS#1 RSA private key is not a DER sequence");
  return encodeSequence([
    encodeTlv(Tag.Integer, new Uint8Array([0])),
    encodeSequence([encodeTlv(Tag.ObjectIdentifier, Oid.rsaEncryption), encodeTlv(Tag.Null, new Uint8Array(0))]),
    encodeTlv(Tag.OctetString, pkcs1.subarray(0, outer.end)),
  ]);
}

/** An unsigned big-endian integer as a DER INTEGER (leading zeros dropped, a zero added before a high bit). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array {
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
