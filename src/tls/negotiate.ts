/** What the server picks from a ClientHello (RFC 8446 §4.1.1): suite, group, signature scheme, ALPN protocol. */

import { AlertDescription, TlsAlertError } from "./alert.js";
import type { CipherSuite } from "./cipher-suite.js";
import type { ClientHello } from "./client-hello.js";

export interface NegotiationPolicy {
  /** In the server's order of preference. */
  cipherSuites: readonly CipherSuite[];
  groups: readonly number[];
  signatureSchemes: readonly number[];
  /** Empty: ALPN is not answered. */
  alpnProtocols: readonly string[];
}

export interface Negotiated {
  suite: CipherSuite;
  signatureScheme: number;
  alpnProtocol: string | undefined;
  /** The client's share in the chosen group, or undefined when a HelloRetryRequest must ask for `group`. */
  clientShare: Uint8Array | undefined;
  group: number;
}

export function negotiate(hello: ClientHello, policy: NegotiationPolicy): Negotiated {
  const suite = policy.cipherSuites.find((candidate) => hello.cipherSuites.includes(candidate.code));
  if (!suite)
    throw new TlsAlertError(
      AlertDescription.handshake_failure,
      "no cipher suite in common (this server has TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384)",
    );
  if (!hello.signatureAlgorithms) throw new TlsAlertError(AlertDescription.missing_extension, "no signature_algorithms");
  const signatureScheme = policy.signatureSchemes.find((scheme) => hello.signatureAlgorithms!.includes(scheme));
  if (signatureScheme === undefined)
    throw new TlsAlertError(AlertDescription.handshake_failure, "the certificate's key cannot sign with any scheme the client accepts");
  if (!hello.keyShares)
    throw new TlsAlertError(AlertDescription.missing_extension, "no key_share (a pre-shared key alone is not supported)");
  let alpnProtocol: string | undefined;
  if (hello.alpnProtocols && policy.alpnProtocols.length) {
    alpnProtocol = policy.alpnProtocols.find((protocol) => hello.alpnProtocols!.includes(protocol));
    if (alpnProtocol === undefined) {
      throw new TlsAlertError(
        AlertDescription.no_application_protocol,
        `none of the client's protocols (${hello.alpnProtocols.join(", ")}) is served here`,
      );
    }
  }
  for (const group of policy.groups) {
    const share = hello.keyShares.find((candidate) => candidate.group === group);
    if (share) return { suite, signatureScheme, alpnProtocol, clientShare: share.keyExchange, group };
  }
  const group = policy.groups.find((candidate) => hello.supportedGroups.includes(candidate));
  if (group === undefined)
    throw new TlsAlertError(AlertDescription.handshake_failure, "no key exchange group in common (this server has x25519 and secp256r1)");
  return { suite, signatureScheme, alpnProtocol, clientShare: undefined, group };
}
