/**
 * The symmetric primitives TLS runs on: HMAC, the transcript hash and AES-GCM. Web Crypto everywhere by default;
 * on Node, node:crypto's synchronous ones where asked (each Web Crypto call there is a round trip through a thread
 * pool, about 70 µs against 4 µs: the whole of a record's cost and most of a handshake's).
 */

import { bufferSource } from "../shared/bytes.js";

export type HashName = "SHA-256" | "SHA-384";

/** AES-GCM with one key: ciphertext and tag together, as TLS records carry them. */
export interface Aead {
  seal(nonce: Uint8Array, additionalData: Uint8Array, plaintext: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Throws when the record does not authenticate. */
  open(nonce: Uint8Array, additionalData: Uint8Array, sealed: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export interface TlsPrimitives {
  readonly name: "web-crypto" | "node-crypto";
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  digest(hash: HashName, data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  aesGcm(key: Uint8Array): Promise<Aead>;
}

const TAG_BITS = 128;

/**
 * HMAC keys by the secret they were imported from: a traffic secret keys three or more HMACs (key, iv, finished),
 * and each Web Crypto call is a round trip, so the import is done once. Secrets are never changed once made.
 */
const hmacKeys = new WeakMap<Uint8Array, Partial<Record<HashName, Promise<CryptoKey>>>>();

export const webCryptoPrimitives: TlsPrimitives = {
  name: "web-crypto",
  async hmac(hash, key, data) {
    let byHash = hmacKeys.get(key);
    if (!byHash) hmacKeys.set(key, (byHash = {}));
    const hmacKey = (byHash[hash] ??= crypto.subtle.importKey("raw", bufferSource(key), { name: "HMAC", hash }, false, ["sign"]));
    return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey, bufferSource(data)));
  },
  async digest(hash, data) {
    return new Uint8Array(await crypto.subtle.digest(hash, bufferSource(data)));
  },
  async aesGcm(keyBytes) {
    const key = await crypto.subtle.importKey("raw", bufferSource(keyBytes), "AES-GCM", false, ["encrypt", "decrypt"]);
    const params = (nonce: Uint8Array, additionalData: Uint8Array) => ({
      name: "AES-GCM",
      iv: bufferSource(nonce),
      additionalData: bufferSource(additionalData),
      tagLength: TAG_BITS,
    });
    return {
      seal: async (nonce, additionalData, plaintext) =>
        new Uint8Array(await crypto.subtle.encrypt(params(nonce, additionalData), key, bufferSource(plaintext))),
      open: async (nonce, additionalData, sealed) =>
        new Uint8Array(await crypto.subtle.decrypt(params(nonce, additionalData), key, bufferSource(sealed))),
    };
  },
};

let native: Promise<TlsPrimitives | undefined> | undefined;

/**
 * node:crypto's primitives on Node (not Deno or Bun, whose node:crypto is a layer of its own), else undefined.
 * Loaded with an import() of a computed specifier, which bundlers leave out of browser builds.
 */
export function nodeCryptoPrimitives(): Promise<TlsPrimitives | undefined> {
  const runtime = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; Bun?: unknown };
  if (!runtime.process?.versions?.node || runtime.Deno !== undefined || runtime.Bun !== undefined) return Promise.resolve(undefined);
  const specifier = ["./node", "primitives.js"].join("-");
  native ??= import(specifier).then(
    (module: { nodePrimitives: TlsPrimitives }) => module.nodePrimitives,
    () => undefined,
  );
  return native;
}
