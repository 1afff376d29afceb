/** ClientHello (RFC 8446 §4.1.2) parsed strictly: what the server negotiates from, with limits on every list. */

import { AlertDescription, TlsAlertError } from "./alert.js";
import { WireReader } from "./wire.js";

export const ExtensionType = {
  server_name: 0,
  supported_groups: 10,
  signature_algorithms: 13,
  application_layer_protocol_negotiation: 16,
  record_size_limit: 28,
  pre_shared_key: 41,
  early_data: 42,
  supported_versions: 43,
  cookie: 44,
  psk_key_exchange_modes: 45,
  signature_algorithms_cert: 50,
  key_share: 51,
} as const;

export const TLS13 = 0x0304;
const TLS12 = 0x0303;
/** More extensions or key shares than any real client sends is malformed input, not something to walk. */
const MAX_EXTENSIONS = 64;
const MAX_KEY_SHARES = 16;

export interface ClientHello {
  random: Uint8Array;
  legacySessionId: Uint8Array;
  cipherSuites: number[];
  /** Versions from supported_versions; absent for a client that only knows TLS 1.2 or older. */
  supportedVersions: number[] | undefined;
  supportedGroups: number[];
  keyShares: { group: number; keyExchange: Uint8Array }[] | undefined;
  signatureAlgorithms: number[] | undefined;
  serverName: string | undefined;
  alpnProtocols: string[] | undefined;
  /** The client's record_size_limit (RFC 8449): the largest protected record plaintext it accepts, plus one. */
  recordSizeLimit: number | undefined;
  /** Extension types in the order sent. */
  extensionTypes: number[];
}

const illegal = (message: string) => new TlsAlertError(AlertDescription.illegal_parameter, message);
const decodeError = (message: string) => new TlsAlertError(AlertDescription.decode_error, message);

/** `body` is the handshake message body (after type and length). */
export function parseClientHello(body: Uint8Array): ClientHello {
  const reader = new WireReader(body, "ClientHello");
  const legacyVersion = reader.u16();
  const random = reader.bytesOf(32);
  const legacySessionId = reader.vector8();
  if (legacySessionId.length > 32) throw decodeError("legacy_session_id longer than 32 bytes");
  const cipherSuites = reader.list16OfU16();
  if (cipherSuites.length === 0) throw decodeError("no cipher suites");
  const compressionMethods = reader.vector8();
  const hello: ClientHello = {
    random,
    legacySessionId,
    cipherSuites,
    supportedVersions: undefined,
    supportedGroups: [],
    keyShares: undefined,
    signatureAlgorithms: undefined,
    serverName: undefined,
    alpnProtocols: undefined,
    recordSizeLimit: undefined,
    extensionTypes: [],
  };
  // A TLS 1.2-only ClientHello may end here; it is refused by version, below.
  if (reader.remaining === 0) {
    if (legacyVersion < TLS12) throw new TlsAlertError(AlertDescription.protocol_version, "the client offers SSL 3.0 or TLS 1.0/1.1 only");
    return hello;
  }
  const extensions = new WireReader(reader.vector16(), "ClientHello extensions");
  reader.end();
  const seen = new Set<number>();
  while (extensions.remaining > 0) {
    const type = extensions.u16();
    const data = extensions.vector16();
    if (seen.has(type)) throw illegal(`extension ${type} appears twice`);
    seen.add(type);
    if (seen.size > MAX_EXTENSIONS) throw decodeError("too many extensions");
    hello.extensionTypes.push(type);
    readExtension(hello, type, data);
  }
  const versions = hello.supportedVersions;
  if (!versions?.includes(TLS13)) {
    throw new TlsAlertError(AlertDescription.protocol_version, "the client does not offer TLS 1.3 (this server speaks TLS 1.3 only)");
  }
  // TLS 1.3 clients send exactly one compression method, null (RFC 8446 §4.1.2).
  if (compressionMethods.length !== 1 || compressionMethods[0] !== 0) throw illegal("legacy_compression_methods must be [null]");
  if (seen.has(ExtensionType.pre_shared_key) && hello.extensionTypes.at(-1) !== ExtensionType.pre_shared_key) {
    throw illegal("pre_shared_key is not the last extension");
  }
  return hello;
}

function readExtension(hello: ClientHello, type: number, data: Uint8Array): void {
  const reader = new WireReader(data, `extension ${type}`);
  switch (type) {
    case ExtensionType.supported_versions:
      hello.supportedVersions = reader.list8OfU16();
      break;
    case ExtensionType.supported_groups:
      hello.supportedGroups = reader.list16OfU16();
      break;
    case ExtensionType.signature_algorithms:
      hello.signatureAlgorithms = reader.list16OfU16();
      if (hello.signatureAlgorithms.length === 0) throw decodeError("empty signature_algorithms");
      break;
    case ExtensionType.key_share: {
      const shares = new WireReader(reader.vector16(), "key_share");
      hello.keyShares = [];
      while (shares.remaining > 0) {
        const group = shares.u16();
        const keyExchange = shares.vector16();
        if (keyExchange.length === 0) throw decodeError("empty key_exchange");
        if (hello.keyShares.some((share) => share.group === group)) throw illegal("two key shares for one group");
        hello.keyShares.push({ group, keyExchange });
        if (hello.keyShares.length > MAX_KEY_SHARES) throw decodeError("too many key shares");
      }
      break;
    }
    case ExtensionType.server_name: {
      const names = new WireReader(reader.vector16(), "server_name");
      while (names.remaining > 0) {
        const nameType = names.u8();
        const name = names.vector16();
        if (nameType === 0 && hello.serverName === undefined) {
          if (name.length === 0 || name.some((byte) => byte < 0x21 || byte > 0x7e)) throw decodeError("malformed host_name");
          hello.serverName = String.fromCharCode(...name).toLowerCase();
        }
      }
      break;
    }
    case ExtensionType.application_layer_protocol_negotiation: {
      const list = new WireReader(reader.vector16(), "ALPN");
      hello.alpnProtocols = [];
      while (list.remaining > 0) {
        const name = list.vector8();
        if (name.length === 0) throw decodeError("empty ALPN protocol name");
        hello.alpnProtocols.push(String.fromCharCode(...name));
      }
      if (hello.alpnProtocols.length === 0) throw decodeError("empty ALPN list");
      break;
    }
    case ExtensionType.record_size_limit: {
      const limit = reader.u16();
      if (limit < 64) throw illegal("record_size_limit below 64");
      hello.recordSizeLimit = limit;
      break;
    }
    default:
      // Extensions this server does not act on (PSK, early data, cookies it never sent, GREASE …) are ignored.
      return;
  }
  reader.end();
}
