/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1) on Web Crypto. Web Crypto's HKDF always runs Extract and Expand
 * together, while TLS needs them apart, so both are built from HMAC as RFC 5869 defines them.
 */

import { bufferSource, concatAll } from "../shared/bytes.js";
import type { CipherSuite } from "./cipher-suite.js";
import { u16, u8, vector8 } from "./wire.js";

const ENCODER = new TextEncoder();

/**
 * HMAC keys by the secret they were imported from: a traffic secret keys three or more HMACs (key, iv, finished),
 * and each Web Crypto call is a round trip, so the import is done once. Secrets are never changed once made.
 */
const hmacKeys = new WeakMap<Uint8Array, Partial<Record<CipherSuite["hash"], Promise<CryptoKey>>>>();

export async function hmac(hash: CipherSuite["hash"], key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  let byHash = hmacKeys.get(key);
  if (!byHash) hmacKeys.set(key, (byHash = {}));
  const hmacKey = (byHash[hash] ??= crypto.subtle.importKey("raw", bufferSource(key), { name: "HMAC", hash }, false, ["sign"]));
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey, bufferSource(data)));
}

export async function digest(hash: CipherSuite["hash"], data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, bufferSource(data)));
}

export function hkdfExtract(suite: CipherSuite, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
  return hmac(suite.hash, salt.length ? salt : new Uint8Array(suite.hashLength), ikm);
}

/** HKDF-Expand-Label; every length TLS asks for fits in one or two HMAC blocks. */
export async function hkdfExpandLabel(
  suite: CipherSuite,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const info = concatAll([u16(length), vector8(ENCODER.encode(`tls13 ${label}`)), vector8(context)]);
  const blocks: Uint8Array[] = [];
  let previous: Uint8Array = new Uint8Array(0);
  for (let counter = 1, produced = 0; produced < length; counter++) {
    previous = await hmac(suite.hash, secret, concatAll([previous, info, u8(counter)]));
    blocks.push(previous);
    produced += previous.length;
  }
  return concatAll(blocks).slice(0, length);
}

export function deriveSecret(suite: CipherSuite, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Promise<Uint8Array> {
  return hkdfExpandLabel(suite, secret, label, transcriptHash, suite.hashLength);
}

/** The secrets of a full (EC)DHE handshake without PSK. */
export interface HandshakeSecrets {
  handshakeSecret: Uint8Array;
  clientHandshakeTrafficSecret: Uint8Array;
  serverHandshakeTrafficSecret: Uint8Array;
}

/** Hash("") per suite: the context of every "derived" secret. */
const emptyHashes = new Map<CipherSuite, Promise<Uint8Array>>();
function emptyHash(suite: CipherSuite): Promise<Uint8Array> {
  let hash = emptyHashes.get(suite);
  if (!hash) emptyHashes.set(suite, (hash = digest(suite.hash, new Uint8Array(0))));
  return hash;
}

/** Without a PSK the early secret, and the salt it gives the handshake secret, are constants of the suite. */
const handshakeSalts = new Map<CipherSuite, Promise<Uint8Array>>();
function handshakeSalt(suite: CipherSuite): Promise<Uint8Array> {
  let salt = handshakeSalts.get(suite);
  if (!salt) {
    salt = (async () => {
      const earlySecret = await hkdfExtract(suite, new Uint8Array(0), new Uint8Array(suite.hashLength));
      return deriveSecret(suite, earlySecret, "derived", await emptyHash(suite));
    })();
    handshakeSalts.set(suite, salt);
  }
  return salt;
}

export async function handshakeSecrets(suite: CipherSuite, sharedSecret: Uint8Array, helloHash: Uint8Array): Promise<HandshakeSecrets> {
  const handshakeSecret = await hkdfExtract(suite, await handshakeSalt(suite), sharedSecret);
  const [clientHandshakeTrafficSecret, serverHandshakeTrafficSecret] = await Promise.all([
    deriveSecret(suite, handshakeSecret, "c hs traffic", helloHash),
    deriveSecret(suite, handshakeSecret, "s hs traffic", helloHash),
  ]);
  return { handshakeSecret, clientHandshakeTrafficSecret, serverHandshakeTrafficSecret };
}

export interface ApplicationSecrets {
  masterSecret: Uint8Array;
  clientApplicationTrafficSecret: Uint8Array;
  serverApplicationTrafficSecret: Uint8Array;
}

/** `handshakeHash` is the transcript hash through the server's Finished. */
export async function applicationSecrets(
  suite: CipherSuite,
  handshakeSecret: Uint8Array,
  handshakeHash: Uint8Array,
): Promise<ApplicationSecrets> {
  const derived = await deriveSecret(suite, handshakeSecret, "derived", await emptyHash(suite));
  const masterSecret = await hkdfExtract(suite, derived, new Uint8Array(suite.hashLength));
  const [clientApplicationTrafficSecret, serverApplicationTrafficSecret] = await Promise.all([
    deriveSecret(suite, masterSecret, "c ap traffic", handshakeHash),
    deriveSecret(suite, masterSecret, "s ap traffic", handshakeHash),
  ]);
  return { masterSecret, clientApplicationTrafficSecret, serverApplicationTrafficSecret };
}

/** Finished's verify_data (RFC 8446 §4.4.4). */
export async function finishedVerifyData(suite: CipherSuite, trafficSecret: Uint8Array, transcriptHash: Uint8Array): Promise<Uint8Array> {
  const finishedKey = await hkdfExpandLabel(suite, trafficSecret, "finished", new Uint8Array(0), suite.hashLength);
  return hmac(suite.hash, finishedKey, transcriptHash);
}

/** The next generation of a traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(suite: CipherSuite, secret: Uint8Array): Promise<Uint8Array> {
  return hkdfExpandLabel(suite, secret, "traffic upd", new Uint8Array(0), suite.hashLength);
}
