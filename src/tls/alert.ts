/** TLS alerts (RFC 8446 §6): the codes this server sends, and the error that carries one to the connection's end. */

export const AlertDescription = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  illegal_parameter: 47,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  internal_error: 80,
  user_canceled: 90,
  missing_extension: 109,
  unsupported_extension: 110,
  no_application_protocol: 120,
} as const;

export type AlertCode = (typeof AlertDescription)[keyof typeof AlertDescription];

const NAMES = new Map<number, string>(Object.entries(AlertDescription).map(([name, code]) => [code, name]));

export function alertName(code: number): string {
  return NAMES.get(code) ?? `alert ${code}`;
}

/** A protocol violation: the connection sends this alert (fatal) and closes. */
export class TlsAlertError extends Error {
  constructor(
    readonly alert: AlertCode,
    message: string,
  ) {
    super(`TLS ${alertName(alert)}: ${message}`);
    this.name = "TlsAlertError";
  }
}

/** The peer sent a fatal alert (or close_notify during the handshake): nothing is sent back. */
export class TlsPeerAlertError extends Error {
  constructor(readonly alert: number) {
    super(`TLS: the peer sent ${alertName(alert)}`);
    this.name = "TlsPeerAlertError";
  }
}
