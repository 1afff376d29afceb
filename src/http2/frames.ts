/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-byte frame header, and per type the checks of §6 with the error code the
 * RFC gives each violation (a stream error carries the stream id, a connection error does not), and the frames the
 * server writes.
 */
import { ErrorCode, Http2Error } from "./errors.js";

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flags = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const FRAME_HEADER_SIZE = 9;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_MAX_FRAME_SIZE = 16_777_215;
export const MAX_WINDOW = 2 ** 31 - 1;
export const DEFAULT_WINDOW = 65_535;
/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

export function parseFrameHeader(bytes: Uint8Array, offset = 0): FrameHeader {
  return {
    length: (bytes[offset]! << 16) | (bytes[offset + 1]! << 8) | bytes[offset + 2]!,
    type: bytes[offset + 3]!,
    flags: bytes[offset + 4]!,
    // The reserved bit is ignored (§4.1).
    streamId: readUint31(bytes, offset + 5),
  };
}

function readUint31(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! & 0x7f) << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

function writeHeader(out: Uint8Array, offset: number, length: number, type: number, flags: number, streamId: number): void {
  out[offset] = length >>> 16;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length & 0xff;
  out[offset + 3] = type;
  out[offset + 4] = flags;
  out[offset + 5] = (streamId >>> 24) & 0x7f;
  out[offset + 6] = (streamId >>> 16) & 0xff;
  out[offset + 7] = (streamId >>> 8) & 0xff;
  out[offset + 8] = streamId & 0xff;
}

/** A frame of `type` with `payload`. */
export function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Uint8Array {
  const length = payload?.length ?? 0;
  const out = new Uint8Array(FRAME_HEADER_SIZE + length);
  writeHeader(out, 0, length, type, flags, streamId);
  if (payload) out.set(payload, FRAME_HEADER_SIZE);
  return out;
}

/** The 9-byte header alone (the payload written after it, without copying). */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_SIZE);
  writeHeader(out, 0, length, type, flags, streamId);
  return out;
}

/** §4.2: the peer's frame is longer than our SETTINGS_MAX_FRAME_SIZE. Always a connection error here. */
export function checkFrameSize(header: FrameHeader, maxFrameSize: number): void {
  if (header.length > maxFrameSize) {
    throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, `frame of ${header.length} bytes exceeds the maximum of ${maxFrameSize}`);
  }
}

function requireStream(header: FrameHeader, name: string): void {
  if (header.streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `${name} frame on stream 0`);
}

function requireConnection(header: FrameHeader, name: string): void {
  if (header.streamId !== 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `${name} frame on stream ${header.streamId}`);
}

/** The payload without its padding (§6.1, §6.2): PADDED adds a pad length byte and that many bytes at the end. */
function unpad(header: FrameHeader, payload: Uint8Array, name: string): { start: number; end: number } {
  if (!(header.flags & Flags.PADDED)) return { start: 0, end: payload.length };
  if (payload.length < 1) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, `padded ${name} frame without a pad length`);
  const padLength = payload[0]!;
  if (padLength >= payload.length) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `${name} padding longer than the payload`);
  return { start: 1, end: payload.length - padLength };
}

export interface DataFrame {
  data: Uint8Array;
  endStream: boolean;
  /** The whole payload length, padding included: what flow control counts. */
  flowLength: number;
}

export function parseData(header: FrameHeader, payload: Uint8Array): DataFrame {
  requireStream(header, "DATA");
  const { start, end } = unpad(header, payload, "DATA");
  return { data: payload.subarray(start, end), endStream: (header.flags & Flags.END_STREAM) !== 0, flowLength: payload.length };
}

export interface Priority {
  exclusive: boolean;
  dependency: number;
  weight: number;
}

function parsePriorityFields(payload: Uint8Array, offset: number): Priority {
  const dependency = readUint31(payload, offset);
  return { exclusive: (payload[offset]! & 0x80) !== 0, dependency, weight: payload[offset + 4]! + 1 };
}

export interface HeadersFrame {
  fragment: Uint8Array;
  endStream: boolean;
  endHeaders: boolean;
  priority: Priority | undefined;
}

export function parseHeaders(header: FrameHeader, payload: Uint8Array): HeadersFrame {
  requireStream(header, "HEADERS");
  const { start, end } = unpad(header, payload, "HEADERS");
  let offset = start;
  let priority: Priority | undefined;
  if (header.flags & Flags.PRIORITY) {
    if (end - offset < 5) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "HEADERS frame too short for its priority");
    // A dependency on the stream itself (§5.3.1) is checked by the connection once the block is decoded.
    priority = parsePriorityFields(payload, offset);
    offset += 5;
  }
  return {
    fragment: payload.subarray(offset, end),
    endStream: (header.flags & Flags.END_STREAM) !== 0,
    endHeaders: (header.flags & Flags.END_HEADERS) !== 0,
    priority,
  };
}

export function parsePriority(header: FrameHeader, payload: Uint8Array): Priority {
  requireStream(header, "PRIORITY");
  if (payload.length !== 5) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY frame not 5 bytes", header.streamId);
  const priority = parsePriorityFields(payload, 0);
  // §5.3.1: a stream cannot depend on itself.
  if (priority.dependency === header.streamId) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "stream depends on itself", header.streamId);
  return priority;
}

export function parseRstStream(header: FrameHeader, payload: Uint8Array): number {
  requireStream(header, "RST_STREAM");
  if (payload.length !== 4) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM frame not 4 bytes");
  return readUint32(payload, 0);
}

export type Settings = Map<number, number>;

/** A SETTINGS frame: undefined for an ACK, else the values in order (unknown identifiers kept, to be ignored). */
export function parseSettings(header: FrameHeader, payload: Uint8Array): Settings | undefined {
  requireConnection(header, "SETTINGS");
  if (header.flags & Flags.ACK) {
    if (payload.length !== 0) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
    return undefined;
  }
  if (payload.length % 6 !== 0) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS payload not a multiple of 6 bytes");
  const settings: Settings = new Map();
  for (let offset = 0; offset < payload.length; offset += 6) {
    const id = (payload[offset]! << 8) | payload[offset + 1]!;
    const value = readUint32(payload, offset + 2);
    if (id === Setting.ENABLE_PUSH && value > 1) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH not 0 or 1");
    if (id === Setting.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) {
      throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
    }
    if (id === Setting.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE)) {
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "SETTINGS_MAX_FRAME_SIZE out of range");
    }
    settings.set(id, value);
  }
  return settings;
}

export interface PingFrame {
  ack: boolean;
  data: Uint8Array;
}

export function parsePing(header: FrameHeader, payload: Uint8Array): PingFrame {
  requireConnection(header, "PING");
  if (payload.length !== 8) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "PING frame not 8 bytes");
  return { ack: (header.flags & Flags.ACK) !== 0, data: payload };
}

export interface GoawayFrame {
  lastStreamId: number;
  code: number;
  debug: Uint8Array;
}

export function parseGoaway(header: FrameHeader, payload: Uint8Array): GoawayFrame {
  requireConnection(header, "GOAWAY");
  if (payload.length < 8) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY frame shorter than 8 bytes");
  return { lastStreamId: readUint31(payload, 0), code: readUint32(payload, 4), debug: payload.subarray(8) };
}

/** The increment of a WINDOW_UPDATE; 0 is a stream error on a stream, a connection error on stream 0 (§6.9). */
export function parseWindowUpdate(header: FrameHeader, payload: Uint8Array): number {
  if (payload.length !== 4) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE frame not 4 bytes");
  const increment = readUint31(payload, 0);
  if (increment === 0) {
    throw new Http2Error(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE with an increment of 0", header.streamId || undefined);
  }
  return increment;
}

export function parseContinuation(header: FrameHeader, payload: Uint8Array): { fragment: Uint8Array; endHeaders: boolean } {
  requireStream(header, "CONTINUATION");
  return { fragment: payload, endHeaders: (header.flags & Flags.END_HEADERS) !== 0 };
}

// Frames the server writes.

export function settingsFrame(settings: Iterable<[number, number]>): Uint8Array {
  const entries = [...settings];
  const payload = new Uint8Array(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload[i * 6] = id >>> 8;
    payload[i * 6 + 1] = id & 0xff;
    writeUint32(payload, i * 6 + 2, value);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flags.ACK, 0);

function writeUint32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

export function pingAck(data: Uint8Array): Uint8Array {
  return frame(FrameType.PING, Flags.ACK, 0, data);
}

export function rstStreamFrame(streamId: number, code: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeUint32(payload, 0, code);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function goawayFrame(lastStreamId: number, code: number, debug = ""): Uint8Array {
  const text = new TextEncoder().encode(debug.slice(0, 256));
  const payload = new Uint8Array(8 + text.length);
  writeUint32(payload, 0, lastStreamId & MAX_WINDOW);
  writeUint32(payload, 4, code);
  payload.set(text, 8);
  return frame(FrameType.GOAWAY, 0, 0, payload);
}

export function windowUpdateFrame(streamId: number, increment: number): Uint8Array {
  const payload = new Uint8Array(4);
  writeUint32(payload, 0, increment);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

/**
 * A header block as HEADERS and as many CONTINUATION frames as `maxFrameSize` needs, in one buffer (no other frame
 * may come between them, §6.10).
 */
export function headerFrames(streamId: number, block: Uint8Array, endStream: boolean, maxFrameSize: number): Uint8Array {
  const count = Math.max(1, Math.ceil(block.length / maxFrameSize));
  const out = new Uint8Array(block.length + count * FRAME_HEADER_SIZE);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const piece = block.subarray(i * maxFrameSize, (i + 1) * maxFrameSize);
    const last = i === count - 1;
    const type = i === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flags.END_HEADERS : 0) | (i === 0 && endStream ? Flags.END_STREAM : 0);
    writeHeader(out, offset, piece.length, type, flags, streamId);
    out.set(piece, offset + FRAME_HEADER_SIZE);
    offset += FRAME_HEADER_SIZE + piece.length;
  }
  return out;
}

/** A DATA frame's bytes, header and payload in one buffer. */
export function dataFrame(streamId: number, data: Uint8Array, endStream: boolean): Uint8Array {
  return frame(FrameType.DATA, endStream ? Flags.END_STREAM : 0, streamId, data);
}
