/**
 * The integrity block, version 2, that turns a web bundle into a Signed Web Bundle (it is prepended to it):
 *
 *   [ magic "🖋📦", version "2b\0\0", attributes { "webBundleId": tstr, * tstr => any },
 *     signature-stack [ [ { "ed25519PublicKey" | "ecdsaP256SHA256PublicKey": bstr }, signature bstr ], ... ] ]
 *
 * All of it in deterministic CBOR; the reader rejects anything else.
 */

import { concatAll, sameBytes } from "../shared/bytes.js";
import { CborError, CborReader, MajorType, MapKeyOrder, encodeArray, encodeBytes, encodeHead, encodeMap, encodeText } from "./cbor.js";
import { rawPublicKeyLengths, type KeyAlgorithm } from "./keys.js";

export const integrityBlockMagic = new Uint8Array([0xf0, 0x9f, 0x96, 0x8b, 0xf0, 0x9f, 0x93, 0xa6]);
const versionV2 = new Uint8Array([0x32, 0x62, 0x00, 0x00]);

export const publicKeyAttributeNames: Record<KeyAlgorithm, string> = {
  ed25519: "ed25519PublicKey",
  "ecdsa-p256": "ecdsaP256SHA256PublicKey",
};

export interface IntegritySignature {
  algorithm: KeyAlgorithm;
  /** Raw public key: 32 bytes (Ed25519) or a 33-byte compressed point (P-256). */
  publicKey: Uint8Array;
  /** 64 bytes for Ed25519; DER for ECDSA. */
  signature: Uint8Array;
}

export function encodeSignatureAttributes(algorithm: KeyAlgorithm, publicKey: Uint8Array): Uint8Array {
  return encodeMap([[encodeText(publicKeyAttributeNames[algorithm]), encodeBytes(publicKey)]]);
}

/** The block with `signatures` as its stack; with none, it is the form every signature signs. */
export function encodeIntegrityBlock(webBundleId: string, signatures: readonly IntegritySignature[]): Uint8Array {
  return encodeArray([
    encodeBytes(integrityBlockMagic),
    encodeBytes(versionV2),
    encodeMap([[encodeText("webBundleId"), encodeText(webBundleId)]]),
    encodeArray(
      signatures.map(({ algorithm, publicKey, signature }) =>
        encodeArray([encodeSignatureAttributes(algorithm, publicKey), encodeBytes(signature)]),
      ),
    ),
  ]);
}

// Ed25519 signatures are 64 bytes; DER-encoded P-256 ECDSA ones at most 72.
const maxSignatureLengths: Readonly<Record<KeyAlgorithm, number>> = { ed25519: 64, "ecdsa-p256": 72 };

/** The most bytes a block signed by keys of these types can take, to reserve room for it before signing. */
export function maxIntegrityBlockLength(webBundleId: string, algorithms: readonly KeyAlgorithm[]): number {
  const placeholders = algorithms.map((algorithm) => ({
    algorithm,
    publicKey: new Uint8Array(rawPublicKeyLengths[algorithm]),
    signature: new Uint8Array(maxSignatureLengths[algorithm]),
  }));
  return encodeIntegrityBlock(webBundleId, placeholders).length;
}

export interface ParsedIntegritySignature extends IntegritySignature {
  /** The signature's attribute map exactly as it appears in the block (it is part of the signed data). */
  attributesCbor: Uint8Array;
}

export interface ParsedIntegrityBlock {
  webBundleId: string;
  signatures: ParsedIntegritySignature[];
  /** Bytes the block takes; the web bundle starts right after. */
  length: number;
  /** The block as it was before signing (empty signature stack), which every signature covers. */
  unsignedCbor: Uint8Array;
}

const algorithmsByAttribute = new Map(
  Object.entries(publicKeyAttributeNames).map(([algorithm, name]) => [name, algorithm as KeyAlgorithm]),
);

/** Reads the integrity block at the start of `bytes`; throws with a one-line message on anything malformed. */
export function parseIntegrityBlock(bytes: Uint8Array): ParsedIntegrityBlock {
  const reader = new CborReader(bytes, 0, true);
  if (reader.readArrayLength("integrity block") !== 4) throw new CborError("integrity block is not a 4-element array");
  if (!sameBytes(reader.readBytes("integrity block magic"), integrityBlockMagic)) {
    throw new CborError("not a signed web bundle (integrity block magic is wrong)");
  }
  const version = reader.readBytes("integrity block version");
  if (!sameBytes(version, versionV2)) {
    throw new CborError(`unsupported integrity block version (only v2 "2b" is supported)`);
  }

  let webBundleId: string | undefined;
  const attributeCount = reader.readMapLength("integrity block attributes");
  const attributeOrder = new MapKeyOrder("integrity block attributes", true);
  for (let i = 0; i < attributeCount; i++) {
    const keyStart = reader.offset;
    const name = reader.readText("attribute name");
    attributeOrder.check(reader, keyStart, name);
    if (name === "webBundleId") webBundleId = reader.readText("webBundleId");
    else reader.skip(`attribute ${name}`);
  }
  if (webBundleId === undefined) throw new CborError("integrity block has no webBundleId attribute");

  const stackStart = reader.offset;
  const signatureCount = reader.readArrayLength("signature stack");
  if (signatureCount === 0) throw new CborError("integrity block has no signatures");
  const signatures: ParsedIntegritySignature[] = [];
  for (let i = 1; i <= signatureCount; i++) {
    if (reader.readArrayLength(`signature ${i}`) !== 2) throw new CborError(`signature ${i} is not [attributes, signature]`);
    const attributesStart = reader.offset;
    if (reader.readMapLength(`attributes of signature ${i}`) !== 1) {
      throw new CborError(`signature ${i} must have exactly one attribute, its public key`);
    }
    const name = reader.readText(`attribute of signature ${i}`);
    const algorithm = algorithmsByAttribute.get(name);
    if (!algorithm) throw new CborError(`signature ${i} has an unsupported public key type "${name}"`);
    const publicKey = reader.readBytes(`public key of signature ${i}`);
    const attributesCbor = bytes.subarray(attributesStart, reader.offset);
    const signature = reader.readBytes(`signature ${i}`);
    signatures.push({ algorithm, publicKey, signature, attributesCbor });
  }

  const unsignedCbor = concatAll([bytes.subarray(0, stackStart), encodeHead(MajorType.Array, 0)]);
  return { webBundleId, signatures, length: reader.offset, unsignedCbor };
}
