/**
 * X.509 certificates (RFC 5280), as much as a TLS server needs: reading a certificate down to its
 * subjectPublicKeyInfo, and making a self-signed ECDSA P-256 certificate for local use (names in subjectAltName,
 * serverAuth only), with the SPKI hash that Chromium's `--ignore-certificate-errors-spki-list` takes.
 */

import { bufferSource } from "../shared/bytes.js";
import { Tag, ecdsaRawToDer, readChildren, readTlv } from "../shared/der.js";
import * as der from "../shared/der-writer.js";
import { toBase64, toPem } from "./pem.js";

export interface CertificateParts {
  /** The whole tbsCertificate element (what the issuer signed). */
  readonly tbsCertificate: Uint8Array;
  /** The whole subjectPublicKeyInfo element. */
  readonly subjectPublicKeyInfo: Uint8Array;
}

/** Splits a DER certificate far enough to reach its public key; throws (plainly) when the shape is wrong. */
export function parseCertificate(certificate: Uint8Array): CertificateParts {
  const outer = readTlv(certificate, 0);
  if (outer.tag !== Tag.Sequence) throw new Error("not a DER sequence");
  if (outer.end !== certificate.length) throw new Error("bytes after the certificate");
  const [tbs, signatureAlgorithm, signature, ...extra] = readChildren(outer.value);
  if (tbs?.tag !== Tag.Sequence || signatureAlgorithm?.tag !== Tag.Sequence || signature?.tag !== Tag.BitString || extra.length > 0) {
    throw new Error("not a Certificate (tbsCertificate, signatureAlgorithm, signatureValue)");
  }
  const fields = readChildren(tbs.value);
  const first = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version, absent in v1
  const [serial, signatureInTbs, issuer, validity, subject, spki] = fields.slice(first);
  if (
    serial?.tag !== Tag.Integer ||
    signatureInTbs?.tag !== Tag.Sequence ||
    issuer?.tag !== Tag.Sequence ||
    validity?.tag !== Tag.Sequence ||
    subject?.tag !== Tag.Sequence ||
    spki?.tag !== Tag.Sequence
  ) {
    throw new Error("tbsCertificate lacks serialNumber, signature, issuer, validity, subject or subjectPublicKeyInfo");
  }
  return {
    tbsCertificate: outer.value.subarray(tbs.start, tbs.end),
    subjectPublicKeyInfo: tbs.value.subarray(spki.start, spki.end),
  };
}

/** Base64 of the SHA-256 of the certificate's subjectPublicKeyInfo: what `--ignore-certificate-errors-spki-list` takes. */
export async function spkiSha256Base64(certificate: Uint8Array): Promise<string> {
  const { subjectPublicKeyInfo } = parseCertificate(certificate);
  return toBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", bufferSource(subjectPublicKeyInfo))));
}

export interface SelfSignedOptions {
  /** DNS names and IP addresses (v4 or v6) the certificate is for; the first is also its common name. */
  hosts?: readonly string[];
  /** Days of validity from now. */
  days?: number;
}

export interface SelfSignedCertificate {
  certificatePem: string;
  /** The ECDSA P-256 private key, PKCS#8 ("PRIVATE KEY"). */
  privateKeyPem: string;
  /** The certificate, DER. */
  certificate: Uint8Array;
  spkiSha256Base64: string;
}

export const DEFAULT_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "::1"];
export const DEFAULT_DAYS = 365;
const MAX_DAYS = 36500;
/** ub-common-name (RFC 5280 Appendix A). */
const MAX_COMMON_NAME = 64;
const DAY_MS = 86_400_000;

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/**
 * A self-signed certificate for a local server, with a new ECDSA P-256 key: X.509 v3, a random positive serial,
 * subject and issuer CN the first host, every host in subjectAltName. It is an end-entity certificate that clients
 * take as its own trust anchor: basicConstraints CA:FALSE (critical), keyUsage digitalSignature (critical),
 * extendedKeyUsage serverAuth. `curl --cacert`, `gnutls-cli --x509cafile` and `openssl verify -CAfile` accept it;
 * Chromium does with `--ignore-certificate-errors-spki-list` or when its NSS store trusts it as a peer
 * (`certutil -A -t "P,,"`), not as a CA ("C,,": ERR_CERT_INVALID). Not CA:TRUE: Firefox refuses a CA certificate
 * as a server's (MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY), and a CA key should not serve TLS.
 */
export async function createSelfSignedCertificate(options: SelfSignedOptions = {}): Promise<SelfSignedCertificate> {
  const hosts = [...new Set((options.hosts ?? DEFAULT_HOSTS).map(normalizeHost))];
  if (hosts.length === 0) throw new Error("a certificate needs at least one host name or address");
  const commonName = hosts[0]!;
  if (commonName.length > MAX_COMMON_NAME) {
    throw new Error(`"${commonName}" is longer than ${MAX_COMMON_NAME} characters, the most a common name holds; put a shorter host first`);
  }
  const days = options.days ?? DEFAULT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS)
    throw new Error(`days must be a whole number from 1 to ${MAX_DAYS}, got ${days}`);

  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const publicPoint = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
  const keyId = new Uint8Array(await crypto.subtle.digest("SHA-1", bufferSource(publicPoint)));

  const name = der.sequence([der.set([der.sequence([der.objectIdentifier(OID.commonName), der.utf8String(commonName)])])]);
  const now = Date.now();
  // An hour of slack for clocks that run behind this one.
  const validity = der.sequence([der.time(new Date(now - 3_600_000)), der.time(new Date(now + days * DAY_MS))]);
  const signatureAlgorithm = der.sequence([der.objectIdentifier(OID.ecdsaWithSha256)]);
  const extensions = der.sequence([
    extension(OID.basicConstraints, true, der.sequence([])),
    extension(OID.keyUsage, true, der.namedBits([0])), // digitalSignature
    extension(OID.extKeyUsage, false, der.sequence([der.objectIdentifier(OID.serverAuth)])),
    extension(OID.subjectAltName, false, der.sequence(hosts.map(generalName))),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
    extension(OID.authorityKeyIdentifier, false, der.sequence([der.implicit(0, keyId)])),
  ]);
  const tbs = der.sequence([
    der.explicit(0, der.integer(2)), // v3
    der.integer(randomSerial()),
    signatureAlgorithm,
    name,
    validity,
    name,
    spki,
    der.explicit(3, extensions),
  ]);
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, bufferSource(tbs)));
  const certificate = der.sequence([tbs, signatureAlgorithm, der.bitString(ecdsaRawToDer(raw, 32))]);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    certificatePem: toPem("CERTIFICATE", certificate),
    privateKeyPem: toPem("PRIVATE KEY", pkcs8),
    certificate,
    spkiSha256Base64: await spkiSha256Base64(certificate),
  };
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return der.sequence([der.objectIdentifier(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value)]);
}

/** 16 random bytes, positive (high bit clear) and not starting with a zero byte: a 127/128-bit serial. */
function randomSerial(): Uint8Array {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial;
}

/** A GeneralName: iPAddress [7] for IPv4 and IPv6 literals, dNSName [2] otherwise. */
function generalName(host: string): Uint8Array {
  const address = parseIpAddress(host);
  if (address) return der.implicit(7, address);
  return der.implicit(2, new TextEncoder().encode(host));
}

/** A host as it goes into the certificate: an IP literal in canonical form, or a checked lower-case DNS name. */
function normalizeHost(input: string): string {
  const host = input.trim();
  const bracketed = /^\[(.*)\]$/.exec(host);
  const address = parseIpAddress(bracketed ? bracketed[1]! : host);
  if (address) return address.length === 4 ? address.join(".") : formatIpv6(address);
  if (bracketed || host.includes(":")) throw new Error(`"${input}" is not a valid IPv6 address`);
  if (/^[\d.]+$/.test(host)) throw new Error(`"${input}" is not a valid IPv4 address`);
  if (/[^\x00-\x7f]/.test(host)) throw new Error(`"${input}": write internationalized names in their xn-- (punycode) form`);
  const name = host.toLowerCase().replace(/\.$/, "");
  const labels = name.split(".");
  const valid =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every((label, i) => (i === 0 && label === "*" && labels.length > 1) || /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
  if (!valid) throw new Error(`"${input}" is not a valid host name (letters, digits and hyphens in dot-separated labels; "*." only first)`);
  return name;
}

/** 4 bytes for a dotted-quad IPv4 address, 16 for an IPv6 address, else null. */
export function parseIpAddress(text: string): Uint8Array | null {
  return parseIpv4(text) ?? parseIpv6(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return null;
  return new Uint8Array(parts.map(Number));
}

function parseIpv6(text: string): Uint8Array | null {
  if (!text.includes(":")) return null;
  let groupsText = text;
  const lastColon = text.lastIndexOf(":");
  const tail = parseIpv4(text.slice(lastColon + 1));
  if (tail)
    groupsText = `${text.slice(0, lastColon + 1)}${((tail[0]! << 8) | tail[1]!).toString(16)}:${((tail[2]! << 8) | tail[3]!).toString(16)}`;
  const halves = groupsText.split("::");
  if (halves.length > 2) return null;
  const split = (half: string) => (half === "" ? [] : half.split(":"));
  const head = split(halves[0]!);
  const rest = halves.length === 2 ? split(halves[1]!) : [];
  const groups = [...head, ...rest];
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return null;
  if (halves.length === 2 ? groups.length > 7 : groups.length !== 8) return null;
  const values = [...head, ...Array<string>(8 - groups.length).fill("0"), ...rest].map((group) => Number.parseInt(group, 16));
  const bytes = new Uint8Array(16);
  values.forEach((value, i) => {
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as "::". */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[i * 2]! << 8) | bytes[i * 2 + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
