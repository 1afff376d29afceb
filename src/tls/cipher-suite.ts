/** The two AEAD cipher suites this server offers (RFC 8446 §B.4), in its order of preference. */

export interface CipherSuite {
  readonly code: number;
  readonly name: string;
  /** Web Crypto's name of the suite's hash (HKDF, transcript). */
  readonly hash: "SHA-256" | "SHA-384";
  readonly hashLength: number;
  /** AES-GCM key length in bytes. */
  readonly keyLength: number;
}

export const TLS_AES_128_GCM_SHA256: CipherSuite = {
  code: 0x1301,
  name: "TLS_AES_128_GCM_SHA256",
  hash: "SHA-256",
  hashLength: 32,
  keyLength: 16,
};
export const TLS_AES_256_GCM_SHA384: CipherSuite = {
  code: 0x1302,
  name: "TLS_AES_256_GCM_SHA384",
  hash: "SHA-384",
  hashLength: 48,
  keyLength: 32,
};

export const CIPHER_SUITES: readonly CipherSuite[] = [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384];

/** Every AEAD here has a 12-byte nonce and a 16-byte tag. */
export const IV_LENGTH = 12;
export const TAG_LENGTH = 16;
