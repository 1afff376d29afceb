/**
 * Signing keys on Web Crypto: Ed25519 and ECDSA P-256, generated, imported from and exported to JWK and PEM
 * (PKCS#8 and SEC1 "EC PRIVATE KEY" for private keys, SPKI for public keys).
 *
 * Private keys are imported extractable: Web Crypto cannot derive a public key from a private one, so the public
 * half is recovered through a JWK export of the private key.
 */

import { bufferSource, sameBytes } from "../shared/bytes.js";
import { Oid, Tag, encodeSequence, encodeTlv, readChildren, readTlv } from "../shared/der.js";
import { compressP256Point, decompressP256Point } from "./p256.js";

export type KeyAlgorithm = "ed25519" | "ecdsa-p256";

export const keyAlgorithms: readonly KeyAlgorithm[] = ["ed25519", "ecdsa-p256"];

/** Bytes of a raw public key as `rawPublicKey` gives it. */
export const rawPublicKeyLengths: Readonly<Record<KeyAlgorithm, number>> = { ed25519: 32, "ecdsa-p256": 33 };

export interface PublicKeyInfo {
  algorithm: KeyAlgorithm;
  publicKey: CryptoKey;
}

export interface SigningKey extends PublicKeyInfo {
  privateKey: CryptoKey;
}

/** What `importKey` gives back: `privateKey` is null when the input held only a public key. */
export interface ImportedKey extends PublicKeyInfo {
  privateKey: CryptoKey | null;
}

const importParams: Record<KeyAlgorithm, EcKeyImportParams | Algorithm> = {
  ed25519: { name: "Ed25519" },
  "ecdsa-p256": { name: "ECDSA", namedCurve: "P-256" },
};

export async function generateSigningKey(algorithm: KeyAlgorithm = "ed25519"): Promise<SigningKey> {
  const pair = (await crypto.subtle.generateKey(importParams[algorithm], true, ["sign", "verify"])) as CryptoKeyPair;
  return { algorithm, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** The public key as integrity blocks carry it: 32 raw bytes for Ed25519, the 33-byte compressed point for P-256. */
export async function rawPublicKey(key: PublicKeyInfo): Promise<Uint8Array> {
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", key.publicKey));
  return key.algorithm === "ed25519" ? raw : compressP256Point(raw);
}

/** The inverse of `rawPublicKey`: a verification key from an integrity block's public key attribute. */
export async function importRawPublicKey(algorithm: KeyAlgorithm, raw: Uint8Array): Promise<CryptoKey> {
  if (algorithm === "ed25519" && raw.length !== 32) throw new Error(`Ed25519 public key must be 32 bytes, got ${raw.length}`);
  const point = algorithm === "ed25519" ? raw : decompressP256Point(raw);
  return crypto.subtle.importKey("raw", bufferSource(point), importParams[algorithm], true, ["verify"]);
}

// --- PEM ---

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text.replace(/\s+/g, ""));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function pem(label: string, der: Uint8Array): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

export async function exportPrivateKeyPem(key: SigningKey): Promise<string> {
  return pem("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", key.privateKey)));
}

export async function exportPublicKeyPem(key: PublicKeyInfo): Promise<string> {
  return pem("PUBLIC KEY", new Uint8Array(await crypto.subtle.exportKey("spki", key.publicKey)));
}

// --- JWK ---

export async function exportPrivateKeyJwk(key: SigningKey): Promise<JsonWebKey> {
  return publicFieldsOf(await crypto.subtle.exportKey("jwk", key.privateKey), true);
}

export async function exportPublicKeyJwk(key: PublicKeyInfo): Promise<JsonWebKey> {
  return publicFieldsOf(await crypto.subtle.exportKey("jwk", key.publicKey), false);
}

/** Only the fields that define the key: no `key_ops`/`ext` that would constrain a later import. */
function publicFieldsOf(jwk: JsonWebKey, withPrivate: boolean): JsonWebKey {
  const { kty, crv, x, y, d } = jwk;
  return { kty, crv, x, ...(y === undefined ? {} : { y }), ...(withPrivate && d !== undefined ? { d } : {}) };
}

function jwkAlgorithm(jwk: JsonWebKey): KeyAlgorithm {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "ed25519";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ecdsa-p256";
  throw new Error(`unsupported JWK (kty ${jwk.kty}, crv ${jwk.crv}): only Ed25519 and ECDSA P-256 keys are supported`);
}

async function importJwk(jwk: JsonWebKey): Promise<ImportedKey> {
  const algorithm = jwkAlgorithm(jwk);
  if (typeof jwk.x !== "string") throw new Error("JWK has no public key (x)");
  const params = importParams[algorithm];
  const publicKey = await crypto.subtle.importKey("jwk", publicFieldsOf(jwk, false), params, true, ["verify"]);
  const privateKey = jwk.d === undefined ? null : await crypto.subtle.importKey("jwk", publicFieldsOf(jwk, true), params, true, ["sign"]);
  return { algorithm, publicKey, privateKey };
}

// --- DER structures ---

/** The algorithm named by an AlgorithmIdentifier (`SEQUENCE { OID, parameters }`). */
function algorithmOf(identifier: Uint8Array): KeyAlgorithm {
  const [oid, parameters] = readChildren(identifier);
  if (oid?.tag === Tag.ObjectIdentifier && sameBytes(oid.value, Oid.ed25519)) return "ed25519";
  if (
    oid?.tag === Tag.ObjectIdentifier &&
    sameBytes(oid.value, Oid.ecPublicKey) &&
    parameters?.tag === Tag.ObjectIdentifier &&
    sameBytes(parameters.value, Oid.prime256v1)
  ) {
    return "ecdsa-p256";
  }
  throw new Error("unsupported key type: only Ed25519 and ECDSA P-256 keys are supported");
}

function pkcs8Algorithm(der: Uint8Array): KeyAlgorithm {
  const [version, identifier] = readChildren(readTlv(der, 0).value);
  if (version?.tag !== Tag.Integer || identifier?.tag !== Tag.Sequence) throw new Error("malformed PKCS#8 private key");
  return algorithmOf(identifier.value);
}

function spkiAlgorithm(der: Uint8Array): KeyAlgorithm {
  const [identifier] = readChildren(readTlv(der, 0).value);
  if (identifier?.tag !== Tag.Sequence) throw new Error("malformed SPKI public key");
  return algorithmOf(identifier.value);
}

/** A SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` writes) wrapped as PKCS#8, which Web Crypto imports. */
function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  const fields = readChildren(readTlv(sec1, 0).value);
  const curve = fields.find((field) => field.tag === 0xa0);
  if (curve && !sameBytes(readTlv(curve.value, 0).value, Oid.prime256v1)) {
    throw new Error("unsupported EC curve: only P-256 (prime256v1) is supported");
  }
  return encodeSequence([
    encodeTlv(Tag.Integer, new Uint8Array([0])),
    encodeSequence([encodeTlv(Tag.ObjectIdentifier, Oid.ecPublicKey), encodeTlv(Tag.ObjectIdentifier, Oid.prime256v1)]),
    encodeTlv(Tag.OctetString, sec1),
  ]);
}

async function importPkcs8(der: Uint8Array): Promise<ImportedKey> {
  const algorithm = pkcs8Algorithm(der);
  const privateKey = await crypto.subtle.importKey("pkcs8", bufferSource(der), importParams[algorithm], true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", publicFieldsOf(jwk, false), importParams[algorithm], true, ["verify"]);
  return { algorithm, privateKey, publicKey };
}

async function importSpki(der: Uint8Array): Promise<ImportedKey> {
  const algorithm = spkiAlgorithm(der);
  const publicKey = await crypto.subtle.importKey("spki", bufferSource(der), importParams[algorithm], true, ["verify"]);
  return { algorithm, publicKey, privateKey: null };
}

/**
 * Imports a key file's text: a JWK (JSON) or PEM with a PRIVATE KEY (PKCS#8), EC PRIVATE KEY (SEC1) or
 * PUBLIC KEY (SPKI) block. Errors are one line naming the problem.
 */
export async function importKey(text: string): Promise<ImportedKey> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let jwk: JsonWebKey;
    try {
      jwk = JSON.parse(trimmed) as JsonWebKey;
    } catch {
      throw new Error("key file starts like JSON but is not valid JSON");
    }
    return importJwk(jwk);
  }
  const blocks = [...trimmed.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  const block = blocks.find(([, label]) => label !== "EC PARAMETERS");
  if (!block) throw new Error("key file is neither a JWK nor PEM");
  const [, label, body] = block;
  const der = fromBase64(body!);
  try {
    switch (label) {
      case "PRIVATE KEY":
        return await importPkcs8(der);
      case "EC PRIVATE KEY":
        return await importPkcs8(sec1ToPkcs8(der));
      case "PUBLIC KEY":
        return await importSpki(der);
      case "ENCRYPTED PRIVATE KEY":
        throw new Error("encrypted private keys are not supported; decrypt with: openssl pkcs8 -in KEY -out PLAIN.pem");
      default:
        throw new Error(`unsupported PEM block "${label}"`);
    }
  } catch (error) {
    // Web Crypto's own messages ("Invalid keyData") do not say which part of the file was wrong.
    throw error instanceof DOMException ? new Error(`invalid ${label}: ${error.message}`) : error;
  }
}

/** Like `importKey`, but a private key is required. */
export async function importSigningKey(text: string): Promise<SigningKey> {
  const key = await importKey(text);
  if (!key.privateKey) throw new Error("this key file holds only a public key; signing needs the private key");
  return { algorithm: key.algorithm, publicKey: key.publicKey, privateKey: key.privateKey };
}
