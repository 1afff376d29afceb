/**
 * A TLS server's credentials: the certificate chain from PEM, and the private key imported into Web Crypto (PKCS#8,
 * SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"), checked against the leaf certificate, signing CertificateVerify
 * content with the TLS 1.3 signature schemes (RFC 8446 §4.2.3) the key allows. Every error names the file and the rule.
 */

import { bufferSource } from "../shared/bytes.js";
import { Oid, Tag, ecdsaRawToDer, oidToString, pkcs1ToPkcs8, readChildren, readTlv, sec1ToPkcs8 } from "../shared/der.js";
import { type PemBlock, pemBlocks } from "./pem.js";
import { parseCertificate } from "./x509.js";

export interface TlsCredentials {
  /** The certificate chain, leaf first, each DER. */
  readonly certificates: readonly Uint8Array[];
  /** TLS 1.3 SignatureScheme code points this key can sign with, in the server's preference order. */
  readonly signatureSchemes: readonly number[];
  /** Signs `data` with `scheme` as a TLS 1.3 CertificateVerify carries it (ECDSA: DER-encoded ECDSA-Sig-Value). */
  sign(scheme: number, data: Uint8Array): Promise<Uint8Array>;
}

export interface TlsCredentialInput {
  /** PEM text (or its bytes) of the certificate chain, leaf first. */
  cert: string | Uint8Array;
  /** PEM text (or its bytes) of the private key. */
  key: string | Uint8Array;
  /** Names used in error messages (file paths); default "cert" / "key". */
  certName?: string;
  keyName?: string;
}

export const SignatureScheme = {
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  ed25519: 0x0807,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
} as const;

/** Limits on what is read: one certificate, the chain, and a whole PEM file. */
export const MAX_CERTIFICATE_SIZE = 64 * 1024;
export const MAX_CHAIN_LENGTH = 10;
const MAX_FILE_SIZE = 1024 * 1024;
/** RSA moduli below this are refused (NIST SP 800-131A; what browsers still accept). */
const MIN_RSA_BITS = 2048;

type KeyType =
  | { kind: "ec"; name: "EC P-256" | "EC P-384"; curve: "P-256" | "P-384" }
  | { kind: "ed25519"; name: "Ed25519" }
  | { kind: "rsa"; name: "RSA" };

/** Key types that exist but cannot be used here, named for the error message. */
const UNSUPPORTED_KEY_TYPES: Record<string, string> = {
  "1.2.840.10040.4.1": "DSA",
  "1.2.840.10046.2.1": "DH",
  "1.2.840.113549.1.3.1": "DH",
  "1.3.101.110": "X25519, a key-agreement key that cannot sign",
  "1.3.101.111": "X448, a key-agreement key that cannot sign",
  "1.3.101.113": "Ed448",
  "1.2.840.113549.1.1.10": "RSA-PSS restricted key; use a plain RSA key (openssl genrsa)",
  "1.2.156.10197.1.301": "SM2",
};

const UNSUPPORTED_CURVES: Record<string, string> = {
  "1.3.132.0.35": "P-521",
  "1.3.132.0.10": "secp256k1",
};

const SUPPORTED = "supported: EC P-256, EC P-384, Ed25519, RSA";

const ECDSA_SCHEME: Record<"P-256" | "P-384", { scheme: number; hash: string; size: number }> = {
  "P-256": { scheme: SignatureScheme.ecdsa_secp256r1_sha256, hash: "SHA-256", size: 32 },
  "P-384": { scheme: SignatureScheme.ecdsa_secp384r1_sha384, hash: "SHA-384", size: 48 },
};

const RSA_PSS_SCHEMES = [
  { scheme: SignatureScheme.rsa_pss_rsae_sha256, hash: "SHA-256", saltLength: 32 },
  { scheme: SignatureScheme.rsa_pss_rsae_sha384, hash: "SHA-384", saltLength: 48 },
  { scheme: SignatureScheme.rsa_pss_rsae_sha512, hash: "SHA-512", saltLength: 64 },
] as const;

/** Reads and checks a certificate chain and its private key; rejects with an Error naming the file and the rule. */
export async function loadTlsCredentials(input: TlsCredentialInput): Promise<TlsCredentials> {
  const certName = input.certName ?? "cert";
  const keyName = input.keyName ?? "key";
  const certificates = readCertificates(input.cert, certName);
  const key = readPrivateKey(input.key, keyName);
  const leafSpki = parseCertificate(certificates[0]!).subjectPublicKeyInfo;
  const signer = await importSigner(key, keyName);
  await checkKeyMatchesCertificate(signer, leafSpki, keyName, certName);
  const signatureSchemes = Object.freeze([...signer.schemes.keys()]);
  return {
    certificates: Object.freeze(certificates),
    signatureSchemes,
    sign(scheme: number, data: Uint8Array): Promise<Uint8Array> {
      const sign = signer.schemes.get(scheme);
      if (!sign) {
        const offered = signatureSchemes.map(hex).join(", ");
        return Promise.reject(
          new Error(`${keyName}: signature scheme ${hex(scheme)} is not one this ${signer.type.name} key signs with (${offered})`),
        );
      }
      return sign(data);
    },
  };
}

function hex(scheme: number): string {
  return `0x${scheme.toString(16).padStart(4, "0")}`;
}

// --- reading the files ---

function pemText(input: string | Uint8Array, name: string): string {
  checkSize(input, name);
  return typeof input === "string" ? input : new TextDecoder().decode(input);
}

function checkSize(input: string | Uint8Array, name: string): void {
  const size = typeof input === "string" ? input.length : input.byteLength;
  if (size > MAX_FILE_SIZE) throw new Error(`${name}: larger than ${MAX_FILE_SIZE / 1024} KiB, too large for keys or certificates`);
}

/** Raw DER bytes given instead of PEM text: they begin with a SEQUENCE tag, where PEM text cannot. */
function isDer(input: string | Uint8Array, name: string): input is Uint8Array {
  if (typeof input === "string" || input[0] !== Tag.Sequence) return false;
  checkSize(input, name);
  return true;
}

function readCertificates(input: string | Uint8Array, name: string): Uint8Array[] {
  let ders: (Uint8Array | null)[];
  if (isDer(input, name)) ders = [input];
  else {
    const blocks = pemBlocks(pemText(input, name)).filter((block) => block.label === "CERTIFICATE");
    if (blocks.length === 0) throw new Error(`${name}: no CERTIFICATE block (expected "-----BEGIN CERTIFICATE-----")`);
    ders = blocks.map((block) => block.der);
  }
  if (ders.length > MAX_CHAIN_LENGTH)
    throw new Error(`${name}: ${ders.length} certificates, more than a chain of ${MAX_CHAIN_LENGTH} holds`);
  return ders.map((der, i) => {
    const which = ders.length === 1 ? "the certificate" : `certificate ${i + 1}`;
    if (!der) throw new Error(`${name}: ${which} is not valid base64`);
    if (der.length > MAX_CERTIFICATE_SIZE) throw new Error(`${name}: ${which} is larger than ${MAX_CERTIFICATE_SIZE / 1024} KiB`);
    try {
      parseCertificate(der);
    } catch (error) {
      throw new Error(`${name}: ${which} is not a DER X.509 certificate (${(error as Error).message})`);
    }
    return der;
  });
}

const PRIVATE_KEY_LABELS = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"];

interface PrivateKeyDer {
  pkcs8: Uint8Array;
  type: KeyType;
  /** What the file held, for messages: "PRIVATE KEY", "EC PRIVATE KEY"… */
  label: string;
}

function readPrivateKey(input: string | Uint8Array, name: string): PrivateKeyDer {
  if (isDer(input, name)) {
    try {
      return { pkcs8: input, type: pkcs8KeyType(input, name), label: "PRIVATE KEY" };
    } catch (error) {
      throw named(error, name, "malformed DER private key");
    }
  }
  const blocks = pemBlocks(pemText(input, name));
  const block = blocks.find((candidate) => candidate.label.endsWith("PRIVATE KEY"));
  if (!block) {
    const found = blocks.length === 0 ? "" : `; it holds ${[...new Set(blocks.map((other) => other.label))].join(", ")}`;
    throw new Error(`${name}: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")${found}`);
  }
  if (block.label === "ENCRYPTED PRIVATE KEY" || isOldStyleEncrypted(block)) {
    throw new Error(
      `${name}: the private key is encrypted, which is not supported; decrypt it: openssl pkey -in ${name} -out plain-key.pem`,
    );
  }
  if (block.label === "OPENSSH PRIVATE KEY") {
    throw new Error(
      `${name}: an OpenSSH private key, which is not supported (expected "-----BEGIN PRIVATE KEY-----", as openssl genpkey writes)`,
    );
  }
  if (!PRIVATE_KEY_LABELS.includes(block.label)) {
    throw new Error(`${name}: unsupported key type (${block.label.replace(/ ?PRIVATE KEY$/, "")}); ${SUPPORTED}`);
  }
  if (!block.der) throw new Error(`${name}: the ${block.label} block is not valid base64`);
  try {
    switch (block.label) {
      case "EC PRIVATE KEY": {
        const { pkcs8 } = sec1ToPkcs8(block.der, curveBySize(block.der));
        return { pkcs8, type: pkcs8KeyType(pkcs8, name), label: block.label };
      }
      case "RSA PRIVATE KEY": {
        const pkcs8 = pkcs1ToPkcs8(block.der);
        return { pkcs8, type: pkcs8KeyType(pkcs8, name), label: block.label };
      }
      default:
        return { pkcs8: block.der, type: pkcs8KeyType(block.der, name), label: block.label };
    }
  } catch (error) {
    throw named(error, name, `malformed ${block.label}`);
  }
}

/** An error from the DER readers, given the file's name and what was wrong, unless it already names the file. */
function named(error: unknown, name: string, what: string): Error {
  const message = (error as Error).message;
  return new Error(message.startsWith(`${name}: `) ? message : `${name}: ${what} (${message})`);
}

function isOldStyleEncrypted(block: PemBlock): boolean {
  return block.headers.some((header) => /^Proc-Type:.*ENCRYPTED/i.test(header));
}

/** A SEC1 key without the optional curve parameters: the curve from the private key's length. */
function curveBySize(sec1: Uint8Array): Uint8Array | undefined {
  const privateKey = readChildren(readTlv(sec1, 0).value)[1];
  return privateKey?.value.length === 32 ? Oid.prime256v1 : privateKey?.value.length === 48 ? Oid.secp384r1 : undefined;
}

/** The key type a PKCS#8 PrivateKeyInfo (or an SPKI, `publicKey`) names in its AlgorithmIdentifier. */
function pkcs8KeyType(der: Uint8Array, name: string, publicKey = false): KeyType {
  const outer = readTlv(der, 0);
  if (outer.tag !== Tag.Sequence || (!publicKey && outer.end !== der.length)) throw new Error("not a DER sequence");
  const fields = readChildren(outer.value);
  const identifier = publicKey ? fields[0] : fields[1];
  if ((!publicKey && fields[0]?.tag !== Tag.Integer) || identifier?.tag !== Tag.Sequence) {
    throw new Error(publicKey ? "malformed subjectPublicKeyInfo" : "not a PKCS#8 PrivateKeyInfo");
  }
  const [oid, parameters] = readChildren(identifier.value);
  if (oid?.tag !== Tag.ObjectIdentifier) throw new Error("malformed AlgorithmIdentifier");
  const algorithm = oidToString(oid.value);
  if (algorithm === oidToString(Oid.ed25519)) return { kind: "ed25519", name: "Ed25519" };
  if (algorithm === oidToString(Oid.rsaEncryption)) return { kind: "rsa", name: "RSA" };
  if (algorithm === oidToString(Oid.ecPublicKey)) {
    const curve = parameters?.tag === Tag.ObjectIdentifier ? oidToString(parameters.value) : "";
    if (curve === oidToString(Oid.prime256v1)) return { kind: "ec", name: "EC P-256", curve: "P-256" };
    if (curve === oidToString(Oid.secp384r1)) return { kind: "ec", name: "EC P-384", curve: "P-384" };
    const curveName = UNSUPPORTED_CURVES[curve] ?? (curve ? `curve ${curve}` : "explicit curve parameters");
    throw new Error(`${name}: unsupported key type (EC ${curveName}); ${SUPPORTED}`);
  }
  throw new Error(`${name}: unsupported key type (${UNSUPPORTED_KEY_TYPES[algorithm] ?? `OID ${algorithm}`}); ${SUPPORTED}`);
}

// --- Web Crypto ---

interface Signer {
  type: KeyType;
  /** The public half as JWK fields (from the private key's JWK export), to compare with the certificate's. */
  publicJwk: JsonWebKey;
  /** Sign functions by scheme, in preference order. */
  schemes: Map<number, (data: Uint8Array) => Promise<Uint8Array>>;
}

function importParams(type: KeyType, hash = "SHA-256"): EcKeyImportParams | RsaHashedImportParams | Algorithm {
  switch (type.kind) {
    case "ec":
      return { name: "ECDSA", namedCurve: type.curve };
    case "ed25519":
      return { name: "Ed25519" };
    case "rsa":
      return { name: "RSA-PSS", hash };
  }
}

async function importPkcs8(key: PrivateKeyDer, name: string, extractable: boolean, hash?: string): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey("pkcs8", bufferSource(key.pkcs8), importParams(key.type, hash), extractable, ["sign"]);
  } catch (error) {
    throw new Error(`${name}: invalid ${key.type.name} ${key.label} (${(error as Error).message})`);
  }
}

async function importSigner(key: PrivateKeyDer, name: string): Promise<Signer> {
  // Web Crypto cannot derive a public key from a private one: an extractable import gives it through JWK, and the
  // keys that sign are imported again, not extractable.
  const extractable = await importPkcs8(key, name, true);
  const jwk = await crypto.subtle.exportKey("jwk", extractable);
  const publicJwk: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e };
  const schemes = new Map<number, (data: Uint8Array) => Promise<Uint8Array>>();
  const type = key.type;
  switch (type.kind) {
    case "ec": {
      const { scheme, hash, size } = ECDSA_SCHEME[type.curve];
      const privateKey = await importPkcs8(key, name, false);
      schemes.set(scheme, async (data) => {
        const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, privateKey, bufferSource(data)));
        return ecdsaRawToDer(raw, size);
      });
      break;
    }
    case "ed25519": {
      const privateKey = await importPkcs8(key, name, false);
      schemes.set(
        SignatureScheme.ed25519,
        async (data) => new Uint8Array(await crypto.subtle.sign("Ed25519", privateKey, bufferSource(data))),
      );
      break;
    }
    case "rsa": {
      const bits = (extractable.algorithm as RsaHashedKeyAlgorithm).modulusLength;
      if (bits < MIN_RSA_BITS) throw new Error(`${name}: RSA key of ${bits} bits is too small (at least ${MIN_RSA_BITS})`);
      for (const { scheme, hash, saltLength } of RSA_PSS_SCHEMES) {
        const privateKey = await importPkcs8(key, name, false, hash);
        schemes.set(
          scheme,
          async (data) => new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength }, privateKey, bufferSource(data))),
        );
      }
      break;
    }
  }
  return { type, publicJwk, schemes };
}

async function checkKeyMatchesCertificate(signer: Signer, spki: Uint8Array, keyName: string, certName: string): Promise<void> {
  let certificateType: KeyType;
  try {
    certificateType = pkcs8KeyType(spki, certName, true);
  } catch (error) {
    const reason = (error as Error).message.replace(`${certName}: `, "");
    throw new Error(
      `${keyName} does not match the certificate in ${certName} (the key is ${signer.type.name}; the certificate's: ${reason})`,
    );
  }
  if (certificateType.name !== signer.type.name) {
    throw new Error(
      `${keyName} does not match the certificate in ${certName} (the key is ${signer.type.name}, the certificate's key is ${certificateType.name})`,
    );
  }
  let certificateJwk: JsonWebKey;
  try {
    const publicKey = await crypto.subtle.importKey("spki", bufferSource(spki), importParams(certificateType), true, ["verify"]);
    certificateJwk = await crypto.subtle.exportKey("jwk", publicKey);
  } catch (error) {
    throw new Error(`${certName}: the certificate's ${certificateType.name} public key is invalid (${(error as Error).message})`);
  }
  const fields = ["kty", "crv", "x", "y", "n", "e"] as const;
  if (fields.some((field) => certificateJwk[field] !== signer.publicJwk[field])) {
    throw new Error(`${keyName} does not match the certificate in ${certName} (a different ${signer.type.name} public key)`);
  }
}
