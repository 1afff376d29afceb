/**
 * Signing and verifying a web bundle's integrity block with Web Crypto.
 *
 * Each signature covers, every part preceded by its length as a 64-bit big-endian integer:
 *   SHA-512 of the web bundle, the integrity block with an empty signature stack, the signature's own attributes.
 * Signatures are computed independently (none covers another). Ed25519 signs that data directly; ECDSA P-256
 * signs it with SHA-256 and stores the signature DER-encoded.
 */

import { bufferSource } from "../shared/bytes.js";
import { ecdsaDerToRaw, ecdsaRawToDer } from "../shared/der.js";
import { encodeIntegrityBlock, encodeSignatureAttributes, type IntegritySignature, type ParsedIntegrityBlock } from "./integrity-block.js";
import { importRawPublicKey, rawPublicKey, type KeyAlgorithm, type SigningKey } from "./keys.js";
import { webBundleIdFromRawKey, webBundleIdOf } from "./web-bundle-id.js";

const signParams: Record<KeyAlgorithm, Algorithm | EcdsaParams> = {
  ed25519: { name: "Ed25519" },
  "ecdsa-p256": { name: "ECDSA", hash: "SHA-256" },
};

export async function sha512(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-512", bufferSource(bytes)));
}

export function signedData(webBundleHash: Uint8Array, unsignedIntegrityBlock: Uint8Array, attributes: Uint8Array): Uint8Array {
  const parts = [webBundleHash, unsignedIntegrityBlock, attributes];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + 8 + part.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setBigUint64(offset, BigInt(part.length));
    out.set(part, offset + 8);
    offset += 8 + part.length;
  }
  return out;
}

/**
 * The Web Bundle ID a bundle signed by `keys` gets: `requested` when given (it must be the ID of one of the keys),
 * else the first key's.
 */
export async function resolveWebBundleId(keys: readonly SigningKey[], requested?: string): Promise<string> {
  if (keys.length === 0) throw new Error("signing needs at least one key");
  const ids = await Promise.all(keys.map((key) => webBundleIdOf(key)));
  const webBundleId = requested ?? ids[0]!;
  if (!ids.includes(webBundleId)) throw new Error(`Web Bundle ID ${webBundleId} does not belong to any of the signing keys`);
  return webBundleId;
}

/**
 * Signs a web bundle with every key; returns the integrity block to put in front of it. The Web Bundle ID is that
 * of `webBundleId`'s key when given (it must belong to one of `keys`), else that of the first key.
 */
export async function signWebBundle(
  webBundle: Uint8Array,
  keys: readonly SigningKey[],
  options: { webBundleId?: string } = {},
): Promise<{ webBundleId: string; integrityBlock: Uint8Array }> {
  const publicKeys = await Promise.all(keys.map((key) => rawPublicKey(key)));
  const webBundleId = await resolveWebBundleId(keys, options.webBundleId);
  const hash = await sha512(webBundle);
  const unsigned = encodeIntegrityBlock(webBundleId, []);
  const signatures: IntegritySignature[] = [];
  for (const [i, key] of keys.entries()) {
    const attributes = encodeSignatureAttributes(key.algorithm, publicKeys[i]!);
    const data = signedData(hash, unsigned, attributes);
    const raw = new Uint8Array(await crypto.subtle.sign(signParams[key.algorithm], key.privateKey, bufferSource(data)));
    const signature = key.algorithm === "ecdsa-p256" ? ecdsaRawToDer(raw) : raw;
    signatures.push({ algorithm: key.algorithm, publicKey: publicKeys[i]!, signature });
  }
  return { webBundleId, integrityBlock: encodeIntegrityBlock(webBundleId, signatures) };
}

/**
 * Checks every signature of a parsed integrity block against the web bundle that follows it, and that the
 * Web Bundle ID belongs to one of the signing keys. Throws an Error with a one-line message on the first failure.
 */
export async function verifyIntegrityBlock(block: ParsedIntegrityBlock, webBundle: Uint8Array): Promise<void> {
  const hash = await sha512(webBundle);
  const signerIds: string[] = [];
  for (const [index, entry] of block.signatures.entries()) {
    const label = `signature ${index + 1} (${entry.algorithm})`;
    let publicKey: CryptoKey;
    let signature: Uint8Array;
    try {
      publicKey = await importRawPublicKey(entry.algorithm, entry.publicKey);
      signature = entry.algorithm === "ecdsa-p256" ? ecdsaDerToRaw(entry.signature) : entry.signature;
    } catch (error) {
      throw new Error(`${label} is malformed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (entry.algorithm === "ed25519" && signature.length !== 64) throw new Error(`${label} is not 64 bytes long`);
    const data = signedData(hash, block.unsignedCbor, entry.attributesCbor);
    if (!(await crypto.subtle.verify(signParams[entry.algorithm], publicKey, bufferSource(signature), bufferSource(data)))) {
      throw new Error(`${label} does not verify: the bundle or its integrity block was altered, or signed by another key`);
    }
    signerIds.push(webBundleIdFromRawKey(entry.algorithm, entry.publicKey));
  }
  if (!signerIds.includes(block.webBundleId)) {
    throw new Error(`Web Bundle ID ${block.webBundleId} does not belong to any key that signed the bundle`);
  }
}
