/** (EC)DHE key shares (RFC 8446 §4.2.8, §7.4) for the two groups this server offers, on Web Crypto. */

import { bufferSource } from "../shared/bytes.js";
import { AlertDescription, TlsAlertError } from "./alert.js";

export const NamedGroup = { secp256r1: 0x0017, x25519: 0x001d } as const;

/** Server preference: x25519 is cheaper and what nearly every client sends first. */
export const SUPPORTED_GROUPS: readonly number[] = [NamedGroup.x25519, NamedGroup.secp256r1];

export interface KeyShare {
  readonly group: number;
  /** The key_exchange bytes sent to the peer. */
  readonly publicKey: Uint8Array;
  /** The shared secret with the peer's key_exchange bytes; illegal_parameter when they are not a valid point. */
  sharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

const ALGORITHMS: Record<number, EcKeyImportParams | Algorithm> = {
  [NamedGroup.x25519]: { name: "X25519" },
  [NamedGroup.secp256r1]: { name: "ECDH", namedCurve: "P-256" },
};
const PUBLIC_KEY_LENGTHS: Record<number, number> = { [NamedGroup.x25519]: 32, [NamedGroup.secp256r1]: 65 };
const SECRET_BITS: Record<number, number> = { [NamedGroup.x25519]: 256, [NamedGroup.secp256r1]: 256 };

export async function generateKeyShare(group: number): Promise<KeyShare> {
  const algorithm = ALGORITHMS[group];
  if (!algorithm) throw new TlsAlertError(AlertDescription.internal_error, `group ${group} is not supported`);
  const pair = (await crypto.subtle.generateKey(algorithm, false, ["deriveBits"])) as CryptoKeyPair;
  return keyShareOf(group, pair.privateKey, new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)));
}

/** A key share from a known X25519 private key (PKCS#8): reproducing published handshakes (RFC 8448). */
export async function x25519KeyShareFromPrivateKey(privateKey: Uint8Array): Promise<KeyShare> {
  const pkcs8 = new Uint8Array([
    0x30,
    0x2e,
    0x02,
    0x01,
    0x00,
    0x30,
    0x05,
    0x06,
    0x03,
    0x2b,
    0x65,
    0x6e,
    0x04,
    0x22,
    0x04,
    0x20,
    ...privateKey,
  ]);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, true, ["deriveBits"]);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return keyShareOf(NamedGroup.x25519, key, base64UrlDecode(jwk.x!));
}

function keyShareOf(group: number, privateKey: CryptoKey, publicKey: Uint8Array): KeyShare {
  return {
    group,
    publicKey,
    async sharedSecret(peerPublicKey) {
      if (peerPublicKey.length !== PUBLIC_KEY_LENGTHS[group] || (group === NamedGroup.secp256r1 && peerPublicKey[0] !== 4)) {
        throw new TlsAlertError(AlertDescription.illegal_parameter, "the client's key share has the wrong length or form");
      }
      let secret: Uint8Array;
      try {
        const peer = await crypto.subtle.importKey("raw", bufferSource(peerPublicKey), ALGORITHMS[group]!, false, []);
        secret = new Uint8Array(
          await crypto.subtle.deriveBits(
            { name: privateKey.algorithm.name, public: peer } as EcdhKeyDeriveParams,
            privateKey,
            SECRET_BITS[group]!,
          ),
        );
      } catch {
        throw new TlsAlertError(AlertDescription.illegal_parameter, "the client's key share is not a valid public key");
      }
      // RFC 8446 §7.4.2: an all-zero X25519 result means a small-order point.
      if (secret.every((byte) => byte === 0))
        throw new TlsAlertError(AlertDescription.illegal_parameter, "the client's key share is a small-order point");
      return secret;
    },
  };
}

function base64UrlDecode(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}
