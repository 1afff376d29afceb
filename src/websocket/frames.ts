/** RFC 6455 framing: opcodes, server-to-client frame encoding, close payloads. */

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
} as const;

export const MAX_CONTROL_PAYLOAD = 125;

/** Codes a peer may put in a close frame: the registered ones minus those reserved for local use, and 3000-4999. */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
}

function writeHeader(frame: Uint8Array, opcode: number, payloadLength: number, fin: boolean, rsv1: boolean): number {
  frame[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (payloadLength < 126) {
    frame[1] = payloadLength;
    return 2;
  }
  if (payloadLength < 0x10000) {
    frame[1] = 126;
    frame[2] = payloadLength >>> 8;
    frame[3] = payloadLength & 0xff;
    return 4;
  }
  frame[1] = 127;
  const view = new DataView(frame.buffer, frame.byteOffset, 10);
  view.setUint32(2, Math.floor(payloadLength / 0x100000000));
  view.setUint32(6, payloadLength >>> 0);
  return 10;
}

/** Where the payload starts in a frame this module encoded. */
export function payloadOffset(frame: Uint8Array): number {
  const length = frame[1]! & 0x7f;
  return length < 126 ? 2 : length === 126 ? 4 : 10;
}

/** One unmasked frame (servers never mask) holding a copy of `payload`. */
export function encodeFrame(opcode: number, payload: Uint8Array, fin = true, rsv1 = false): Uint8Array {
  const frame = new Uint8Array(headerLength(payload.length) + payload.length);
  frame.set(payload, writeHeader(frame, opcode, payload.length, fin, rsv1));
  return frame;
}

const encoder = new TextEncoder();

/** A text frame encoded straight into the frame buffer when the text is short (no intermediate copy). */
export function encodeTextFrame(text: string): Uint8Array {
  if (text.length * 3 <= 125) {
    const frame = new Uint8Array(2 + text.length * 3);
    const { written } = encoder.encodeInto(text, frame.subarray(2));
    writeHeader(frame, Opcode.Text, written, true, false);
    return frame.subarray(0, 2 + written);
  }
  return encodeFrame(Opcode.Text, encoder.encode(text));
}

/** A close frame payload: the code and a reason truncated to fit the 125-byte control frame limit. */
export function encodeClosePayload(code: number | undefined, reason = ""): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  let reasonBytes = encoder.encode(reason);
  if (reasonBytes.length > MAX_CONTROL_PAYLOAD - 2) {
    // Cut at a character boundary so the reason stays valid UTF-8.
    let end = MAX_CONTROL_PAYLOAD - 2;
    while (end > 0 && (reasonBytes[end]! & 0xc0) === 0x80) end--;
    reasonBytes = reasonBytes.subarray(0, end);
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** XORs `data` in place with the 4-byte mask, starting `offset` bytes into the frame payload. */
export function unmask(data: Uint8Array, mask: Uint8Array, offset: number): void {
  const length = data.length;
  let i = 0;
  // Byte by byte up to a 4-byte boundary, then a word at a time.
  while (i < length && (data.byteOffset + i) & 3) {
    data[i]! ^= mask[(offset + i) & 3]!;
    i++;
  }
  const words = (length - i) >>> 2;
  if (words > 0) {
    const m0 = mask[(offset + i) & 3]!,
      m1 = mask[(offset + i + 1) & 3]!,
      m2 = mask[(offset + i + 2) & 3]!,
      m3 = mask[(offset + i + 3) & 3]!;
    const key = LITTLE_ENDIAN ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24) : (m0 << 24) | (m1 << 16) | (m2 << 8) | m3;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= key;
    i += words * 4;
  }
  for (; i < length; i++) data[i]! ^= mask[(offset + i) & 3]!;
}

/** A violation by the peer: the connection is failed with `closeCode`. */
export class ProtocolError extends Error {
  constructor(
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** Binary message data accepted by the send methods. */
export type BinaryData = ArrayBufferLike | ArrayBufferView;

export function toBytes(data: BinaryData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
