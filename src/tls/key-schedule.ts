/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1). Web Crypto's HKDF always runs Extract and Expand together, while TLS
 * needs them apart, so both are built from HMAC as RFC 5869 defines them, on the connection's primitives.
 */

import { concatAll } from "../shared/bytes.js";
import type { CipherSuite } from "./cipher-suite.js";
import type { TlsPrimitives } from "./primitives.js";
import { u16, u8, vector8 } from "./wire.js";

const ENCODER = new TextEncoder();

export async function digest(p: TlsPrimitives, suite: CipherSuite, data: Uint8Array): Promise<Uint8Array> {
  return p.digest(suite.hash, data);
}

export async function hkdfExtract(p: TlsPrimitives, suite: CipherSuite, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array> {
  return p.hmac(suite.hash, salt.length ? salt : new Uint8Array(suite.hashLength), ikm);
}

/** HKDF-Expand-Label; every length TLS asks for fits in one or two HMAC blocks. */
export async function hkdfExpandLabel(
  p: TlsPrimitives,
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
    previous = await p.hmac(suite.hash, secret, concatAll([previous, info, u8(counter)]));
    blocks.push(previous);
    produced += previous.length;
  }
  return concatAll(blocks).slice(0, length);
}

export function deriveSecret(
  p: TlsPrimitives,
  suite: CipherSuite,
  secret: Uint8Array,
  label: string,
  transcriptHash: Uint8Array,
): Promise<Uint8Array> {
  return hkdfExpandLabel(p, suite, secret, label, transcriptHash, suite.hashLength);
}

/** The secrets of a full (EC)DHE handshake without PSK. */
export interface HandshakeSecrets {
  handshakeSecret: Uint8Array;
  clientHandshakeTrafficSecret: Uint8Array;
  serverHandshakeTrafficSecret: Uint8Array;
}

/** Hash("") per suite: the context of every "derived" secret. The same bytes whatever computes them. */
const emptyHashes = new Map<number, Promise<Uint8Array>>();
function emptyHash(p: TlsPrimitives, suite: CipherSuite): Promise<Uint8Array> {
  let hash = emptyHashes.get(suite.code);
  if (!hash) emptyHashes.set(suite.code, (hash = digest(p, suite, new Uint8Array(0))));
  return hash;
}

/** Without a PSK the early secret, and the salt it gives the handshake secret, are constants of the suite. */
const handshakeSalts = new Map<number, Promise<Uint8Array>>();
function handshakeSalt(p: TlsPrimitives, suite: CipherSuite): Promise<Uint8Array> {
  let salt = handshakeSalts.get(suite.code);
  if (!salt) {
    salt = (async () => {
      const earlySecret = await hkdfExtract(p, suite, new Uint8Array(0), new Uint8Array(suite.hashLength));
      return deriveSecret(p, suite, earlySecret, "derived", await emptyHash(p, suite));
    })();
    handshakeSalts.set(suite.code, salt);
  }
  return salt;
}

export async function handshakeSecrets(
  p: TlsPrimitives,
  suite: CipherSuite,
  sharedSecret: Uint8Array,
  helloHash: Uint8Array,
): Promise<HandshakeSecrets> {
  const handshakeSecret = await hkdfExtract(p, suite, await handshakeSalt(p, suite), sharedSecret);
  const [clientHandshakeTrafficSecret, serverHandshakeTrafficSecret] = await Promise.all([
    deriveSecret(p, suite, handshakeSecret, "c hs traffic", helloHash),
    deriveSecret(p, suite, handshakeSecret, "s hs traffic", helloHash),
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
  p: TlsPrimitives,
  suite: CipherSuite,
  handshakeSecret: Uint8Array,
  handshakeHash: Uint8Array,
): Promise<ApplicationSecrets> {
  const derived = await deriveSecret(p, suite, handshakeSecret, "derived", await emptyHash(p, suite));
  const masterSecret = await hkdfExtract(p, suite, derived, new Uint8Array(suite.hashLength));
  const [clientApplicationTrafficSecret, serverApplicationTrafficSecret] = await Promise.all([
    deriveSecret(p, suite, masterSecret, "c ap traffic", handshakeHash),
    deriveSecret(p, suite, masterSecret, "s ap traffic", handshakeHash),
  ]);
  return { masterSecret, clientApplicationTrafficSecret, serverApplicationTrafficSecret };
}

/** Finished's verify_data (RFC 8446 §4.4.4). */
export async function finishedVerifyData(
  p: TlsPrimitives,
  suite: CipherSuite,
  trafficSecret: Uint8Array,
  transcriptHash: Uint8Array,
): Promise<Uint8Array> {
  const finishedKey = await hkdfExpandLabel(p, suite, trafficSecret, "finished", new Uint8Array(0), suite.hashLength);
  return p.hmac(suite.hash, finishedKey, transcriptHash);
}

/** The next generation of a traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(p: TlsPrimitives, suite: CipherSuite, secret: Uint8Array): Promise<Uint8Array> {
  return hkdfExpandLabel(p, suite, secret, "traffic upd", new Uint8Array(0), suite.hashLength);
}
