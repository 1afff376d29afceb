/**
 * Web Bundle IDs (https://github.com/WICG/isolated-web-apps/blob/main/Scheme.md#signed-web-bundle-ids): the
 * lowercase, unpadded base32 of the raw public key followed by a 3-byte suffix naming the key type. The ID is the
 * host of the app's origin, `isolated-app://ID/`.
 */

import { rawPublicKey, rawPublicKeyLengths, type KeyAlgorithm, type PublicKeyInfo } from "./keys.js";

export const isolatedAppScheme = "isolated-app:";

const typeSuffixes: Record<KeyAlgorithm, readonly number[]> = {
  ed25519: [0x00, 0x01, 0x02],
  "ecdsa-p256": [0x00, 0x02, 0x02],
};

const alphabet = "abcdefghijklmnopqrstuvwxyz234567";

export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes lowercase unpadded base32; null when the text is not in canonical form (bad letters or stray bits). */
export function base32Decode(text: string): Uint8Array | null {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = alphabet.indexOf(char);
    if (value < 0) return null;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  return buffer === 0 ? Uint8Array.from(out) : null;
}

export function webBundleIdFromRawKey(algorithm: KeyAlgorithm, raw: Uint8Array): string {
  return base32Encode(Uint8Array.from([...raw, ...typeSuffixes[algorithm]]));
}

export async function webBundleIdOf(key: PublicKeyInfo): Promise<string> {
  return webBundleIdFromRawKey(key.algorithm, await rawPublicKey(key));
}

export function isolatedAppOrigin(webBundleId: string): string {
  return `${isolatedAppScheme}//${webBundleId}/`;
}

/** The key type and raw public key an ID encodes; throws with a one-line reason when it is not a valid ID. */
export function parseWebBundleId(webBundleId: string): { algorithm: KeyAlgorithm; rawPublicKey: Uint8Array } {
  const bytes = base32Decode(webBundleId);
  if (!bytes) throw new Error(`"${webBundleId}" is not a Web Bundle ID (not lowercase base32)`);
  for (const [algorithm, suffix] of Object.entries(typeSuffixes) as [KeyAlgorithm, readonly number[]][]) {
    const keyLength = rawPublicKeyLengths[algorithm];
    if (bytes.length === keyLength + suffix.length && suffix.every((byte, i) => bytes[keyLength + i] === byte)) {
      return { algorithm, rawPublicKey: bytes.subarray(0, keyLength) };
    }
  }
  throw new Error(`"${webBundleId}" is not a Web Bundle ID (unknown length or key type suffix)`);
}
