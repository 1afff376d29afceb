/** HTTP/2 error codes (RFC 9113 §7) and the errors that carry them. */

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

export function errorCodeName(code: number): string {
  return NAMES.get(code) ?? `0x${code.toString(16)}`;
}

/**
 * A violation of HTTP/2. With a `streamId` it is a stream error (RST_STREAM on that stream, the connection goes
 * on); without, a connection error (GOAWAY, then close).
 */
export class Http2Error extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly streamId?: number,
  ) {
    super(`${errorCodeName(code)}: ${message}`);
    this.name = "Http2Error";
  }
}

/** A malformed or over-limit HPACK header block: always the connection error COMPRESSION_ERROR. */
export class HpackError extends Http2Error {
  constructor(message: string) {
    super(ErrorCode.COMPRESSION_ERROR, message);
    this.name = "HpackError";
  }
}
