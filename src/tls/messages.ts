/** The server's handshake messages (RFC 8446 §4), encoded. */

import { concatAll } from "../shared/bytes.js";
import { ExtensionType, TLS13 } from "./client-hello.js";
import { extension, handshakeMessage, u16, vector16, vector24, vector8 } from "./wire.js";

export const HandshakeType = {
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  end_of_early_data: 5,
  encrypted_extensions: 8,
  certificate: 11,
  certificate_request: 13,
  certificate_verify: 15,
  finished: 20,
  key_update: 24,
  message_hash: 254,
} as const;

/** ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
export const HELLO_RETRY_REQUEST_RANDOM = Uint8Array.from(
  "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c".match(/../g)!,
  (hex) => Number.parseInt(hex, 16),
);

const ENCODER = new TextEncoder();

export function serverHello(options: {
  random: Uint8Array;
  legacySessionId: Uint8Array;
  cipherSuite: number;
  keyShare: { group: number; publicKey: Uint8Array };
}): Uint8Array {
  return handshakeMessage(
    HandshakeType.server_hello,
    concatAll([
      u16(0x0303),
      options.random,
      vector8(options.legacySessionId),
      u16(options.cipherSuite),
      Uint8Array.of(0),
      vector16(
        extension(ExtensionType.key_share, concatAll([u16(options.keyShare.group), vector16(options.keyShare.publicKey)])),
        extension(ExtensionType.supported_versions, u16(TLS13)),
      ),
    ]),
  );
}

/** A HelloRetryRequest: a ServerHello naming the group the client should send a key share for. */
export function helloRetryRequest(options: { legacySessionId: Uint8Array; cipherSuite: number; group: number }): Uint8Array {
  return handshakeMessage(
    HandshakeType.server_hello,
    concatAll([
      u16(0x0303),
      HELLO_RETRY_REQUEST_RANDOM,
      vector8(options.legacySessionId),
      u16(options.cipherSuite),
      Uint8Array.of(0),
      vector16(extension(ExtensionType.supported_versions, u16(TLS13)), extension(ExtensionType.key_share, u16(options.group))),
    ]),
  );
}

/** The transcript's stand-in for the first ClientHello after a HelloRetryRequest (RFC 8446 §4.4.1). */
export function messageHash(clientHelloHash: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.message_hash, clientHelloHash);
}

export interface EncryptedExtensionsContent {
  /** The server's groups, when it tells the client its preference (RFC 8446 §4.2.7). */
  supportedGroups?: readonly number[];
  /** This endpoint's record_size_limit (RFC 8449), sent when the client sent one. */
  recordSizeLimit?: number;
  /** An empty server_name: the client's SNI was seen (RFC 6066 §3). */
  serverNameAcknowledged?: boolean;
  alpnProtocol?: string;
}

export function encryptedExtensions(content: EncryptedExtensionsContent): Uint8Array {
  const extensions: Uint8Array[] = [];
  if (content.supportedGroups) {
    extensions.push(extension(ExtensionType.supported_groups, vector16(...content.supportedGroups.map(u16))));
  }
  if (content.recordSizeLimit !== undefined) extensions.push(extension(ExtensionType.record_size_limit, u16(content.recordSizeLimit)));
  if (content.serverNameAcknowledged) extensions.push(extension(ExtensionType.server_name, new Uint8Array(0)));
  if (content.alpnProtocol !== undefined) {
    extensions.push(
      extension(ExtensionType.application_layer_protocol_negotiation, vector16(vector8(ENCODER.encode(content.alpnProtocol)))),
    );
  }
  return handshakeMessage(HandshakeType.encrypted_extensions, vector16(...extensions));
}

export function certificate(chain: readonly Uint8Array[]): Uint8Array {
  const entries = chain.map((der) => concatAll([vector24(der), vector16()]));
  return handshakeMessage(HandshakeType.certificate, concatAll([vector8(), vector24(...entries)]));
}

/** What CertificateVerify signs: 64 spaces, the context string, a zero byte, the transcript hash (RFC 8446 §4.4.3). */
export function certificateVerifyInput(transcriptHash: Uint8Array): Uint8Array {
  return concatAll([new Uint8Array(64).fill(0x20), ENCODER.encode("TLS 1.3, server CertificateVerify"), Uint8Array.of(0), transcriptHash]);
}

export function certificateVerify(scheme: number, signature: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.certificate_verify, concatAll([u16(scheme), vector16(signature)]));
}

export function finished(verifyData: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.finished, verifyData);
}

export const KeyUpdateRequest = { update_not_requested: 0, update_requested: 1 } as const;

export function keyUpdate(request: number): Uint8Array {
  return handshakeMessage(HandshakeType.key_update, Uint8Array.of(request));
}
