import { concatBytes } from "../shared/bytes.js";
import { httpDate } from "./date.js";
import { HttpError, ResponseInterrupted } from "./errors.js";
import { FastResponse, responseParts, type ResponseParts } from "./fast-response.js";
import { type Line, LineHeaders } from "./line-headers.js";
import { REASON_PHRASES } from "./status.js";
import type { ByteWriter } from "../sockets/direct-io.js";

/** What the connection loop knows about the request a response answers. */
export interface ResponseTarget {
  method: string;
  version: "1.0" | "1.1";
  /** Whether the connection may carry another request after this one, as far as the request goes. */
  keepAlive: boolean;
}

/** Header fields the connection manages itself; a handler's values for them are replaced. */
const CONNECTION_MANAGED = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);
const ENCODER = new TextEncoder();
const CRLF = ENCODER.encode("\r\n");
const LAST_CHUNK = ENCODER.encode("0\r\n\r\n");
/** Microtask turns to wait for a body's second read: enough for in-memory bodies to report their end. */
const SETTLE_TURNS = 8;
const ASCII = /^[\x00-\x7f]*$/;
/** In-memory bodies up to this size go out in the same buffer as the head; larger ones in a write of their own. */
const MAX_JOINED_BODY = 64 * 1024;

function statusHasNoBody(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

const statusLines: string[] = [];

function statusLine(status: number): string {
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? ""}\r\n`);
}

/**
 * Output buffers carved from shared slabs, as V8 runtimes take 1-2 µs to allocate each new ArrayBuffer (a view
 * costs 0.05). A region is never reused: a slab is dropped once full and collected when its last view is.
 */
const SLAB_SIZE = 64 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;

function allocate(length: number): Uint8Array {
  if (length > SLAB_SIZE / 8) return new Uint8Array(length);
  if (slabUsed + length > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const bytes = new Uint8Array(slab, slabUsed, length);
  slabUsed += (length + 7) & ~7;
  return bytes;
}

/** Header text (ISO-8859-1, one byte per character: Headers hold byte strings) into `out` from `offset`. */
function writeLatin1(text: string, out: Uint8Array, offset: number): void {
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
}

/**
 * ASCII text up to this length is copied character by character rather than through TextEncoder: cheaper for
 * short text in Chromium (whose binding costs most up to ~150 characters) and on Node (up to ~30).
 */
const MAX_COPIED_TEXT = 64;

/** The head text and the body after it in one buffer; an ASCII string body is copied in without encoding it apart. */
function encodeMessage(head: string, body: string | Uint8Array | null): Uint8Array {
  if (body === null || body.length === 0) {
    const out = allocate(head.length);
    writeLatin1(head, out, 0);
    return out;
  }
  if (typeof body === "string") {
    const out = allocate(head.length + body.length);
    writeLatin1(head, out, 0);
    // The body is ASCII here. A short one is copied like the head (encodeInto took 0.8 µs a request in Chromium's
    // profile for "Hello, world!").
    if (body.length <= MAX_COPIED_TEXT) writeLatin1(body, out, head.length);
    else ENCODER.encodeInto(body, out.subarray(head.length));
    return out;
  }
  const out = allocate(head.length + body.length);
  writeLatin1(head, out, 0);
  out.set(body, head.length);
  return out;
}

/** The status line and header section, including the terminating empty line. */
export function serializeHead(status: number, headers: Iterable<[string, string]>): Uint8Array {
  let text = statusLine(status);
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return encodeMessage(`${text}\r\n`, null);
}

/** A response's header fields as lines, without those the connection manages; `Connection: close` noted. */
interface HeaderLines {
  text: string;
  keepAlive: boolean;
  declaredLength: number | undefined;
}

function headerLines(headers: Headers | ReadonlyArray<Readonly<Line>>, keepAlive: boolean): HeaderLines {
  const lines: HeaderLines = { text: "", keepAlive, declaredLength: undefined };
  const kept = Array.isArray(headers) ? headers : LineHeaders.linesOf(headers as Headers);
  if (kept) {
    // Still the lines the handler gave: each goes out as it is (Set-Cookie lines included).
    for (const [name, value] of kept) addLine(lines, name, value);
  } else {
    let setCookies = false;
    for (const [name, value] of headers as Headers) {
      if (name === "set-cookie") setCookies = true;
      else addLine(lines, name, value);
    }
    if (setCookies) for (const cookie of (headers as Headers).getSetCookie()) addLine(lines, "set-cookie", cookie);
  }
  lines.text += `date: ${httpDate()}\r\n`;
  return lines;
}

function addLine(lines: HeaderLines, name: string, value: string): void {
  if (name === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) lines.keepAlive = false;
  if (CONNECTION_MANAGED.has(name)) return;
  if (name === "content-length") {
    // Nothing is written yet: the server can still answer 500 for the handler's mistake.
    if (!/^\d+$/.test(value)) throw new HttpError(500, `invalid Content-Length '${value}' in the handler's response`);
    // Lines of one name may repeat here; they must agree, as the one value Headers would join them into must.
    if (lines.declaredLength !== undefined && lines.declaredLength !== Number(value)) {
      throw new HttpError(500, "conflicting Content-Length values in the handler's response");
    }
    if (lines.declaredLength !== undefined) return;
    lines.declaredLength = Number(value);
  }
  lines.text += `${name}: ${value}\r\n`;
}

function connectionLine(keepAlive: boolean, version: "1.0" | "1.1"): string {
  if (!keepAlive) return "connection: close\r\n";
  return version === "1.0" ? "connection: keep-alive\r\n" : "";
}

/** A response whose body is in memory: status line, header section and body written at once, no stream read. */
function writeInMemory(writer: ByteWriter, parts: ResponseParts, target: ResponseTarget): Promise<boolean> {
  const { status } = parts;
  const lines = headerLines(parts.headers, target.keepAlive);
  let body = parts.body;
  if (typeof body === "string" && !ASCII.test(body)) body = ENCODER.encode(body);
  const length = body?.length ?? 0;
  const bodyless = statusHasNoBody(status) || target.method === "HEAD";
  if (lines.declaredLength !== undefined && lines.declaredLength !== length && !bodyless) {
    throw new HttpError(500, `the handler's response declares a Content-Length of ${lines.declaredLength} for a body of ${length} bytes`);
  }
  let head = statusLine(status) + lines.text;
  if (lines.declaredLength === undefined && !statusHasNoBody(status)) head += `content-length: ${length}\r\n`;
  head += `${connectionLine(lines.keepAlive, target.version)}\r\n`;
  if (bodyless) body = null;
  if (body !== null && typeof body !== "string" && body.length > MAX_JOINED_BODY) {
    writer.write(encodeMessage(head, null)).catch(() => {});
    return writer.write(body).then(() => lines.keepAlive);
  }
  return writer.write(encodeMessage(head, body)).then(() => lines.keepAlive);
}

function chunkFrame(data: Uint8Array): Uint8Array {
  const size = ENCODER.encode(`${data.length.toString(16)}\r\n`);
  const frame = new Uint8Array(size.length + data.length + 2);
  frame.set(size, 0);
  frame.set(data, size.length);
  frame.set(CRLF, size.length + data.length);
  return frame;
}

/** A body chunk as bytes: Uint8Array, another view or an ArrayBuffer; anything else is a handler's mistake. */
export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  throw new TypeError("response body chunks must be Uint8Array");
}

type ReadResult = ReadableStreamReadResult<Uint8Array>;
const NOT_YET = Symbol("not yet");

/** The read's result if it settles within a few microtask turns (a body already fully in memory does). */
async function settledSoon(read: Promise<ReadResult>): Promise<ReadResult | typeof NOT_YET> {
  let result: ReadResult | typeof NOT_YET = NOT_YET;
  read.then(
    (value) => (result = value),
    () => {},
  );
  for (let turn = 0; turn < SETTLE_TURNS && result === NOT_YET; turn++) await undefined;
  return result;
}

/**
 * Writes `response` to the socket: Content-Length when the length is known (given, or the whole body
 * arrived at once), chunked otherwise, close-delimited for HTTP/1.0 clients. Returns whether the
 * connection can carry another request. Rejects when the socket fails or the body stream errors;
 * the connection must then be closed, as the response may be cut short.
 */
export function writeResponse(writer: ByteWriter, response: Response, target: ResponseTarget): Promise<boolean> {
  const parts = responseParts(response);
  if (parts) return writeInMemory(writer, parts, target);
  return writeStreamed(writer, FastResponse.nativeOf(response) ?? response, target);
}

async function writeStreamed(writer: ByteWriter, response: Response, target: ResponseTarget): Promise<boolean> {
  const status = response.status;
  const lines = headerLines(response.headers, target.keepAlive);
  const { declaredLength } = lines;
  let keepAlive = lines.keepAlive;
  /** The head with `framing` (a Content-Length or Transfer-Encoding line, or nothing) and the connection line. */
  const head = (framing = "") =>
    encodeMessage(`${statusLine(status)}${lines.text}${framing}${connectionLine(keepAlive, target.version)}\r\n`, null);

  const bodyless = statusHasNoBody(status) || target.method === "HEAD";
  const reader = response.body?.getReader();
  let first: ReadResult = { done: true, value: undefined };
  let pendingSecond: Promise<ReadResult> | undefined;
  let knownLength = declaredLength;

  if (reader && declaredLength === undefined && !statusHasNoBody(status)) {
    first = await reader.read();
    if (!first.done) {
      const second = reader.read();
      const soon = await settledSoon(second);
      if (soon !== NOT_YET && soon.done) knownLength = first.value.length;
      else pendingSecond = second;
    } else knownLength = 0;
  } else if (!reader && !statusHasNoBody(status) && declaredLength === undefined) {
    knownLength = 0;
  }

  if (bodyless) {
    const addLength = knownLength !== undefined && !statusHasNoBody(status) && declaredLength === undefined;
    await reader?.cancel().catch(() => {});
    await writer.write(head(addLength ? `content-length: ${knownLength}\r\n` : ""));
    return keepAlive;
  }

  if (knownLength !== undefined) {
    const fixedHead = head(declaredLength === undefined ? `content-length: ${knownLength}\r\n` : "");
    if (!reader || declaredLength === undefined) {
      await writer.write(first.done ? fixedHead : concatBytes(fixedHead, toBytes(first.value)));
      return keepAlive;
    }
    await writer.write(fixedHead);
    await pipeFixedLength(reader, writer, declaredLength);
    return keepAlive;
  }

  // Length unknown: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
  const chunked = target.version === "1.1";
  if (!chunked) keepAlive = false;
  const frame = chunked ? chunkFrame : (data: Uint8Array) => data;
  const firstBytes = toBytes(first.value);
  await writer.write(
    concatBytes(head(chunked ? "transfer-encoding: chunked\r\n" : ""), firstBytes.length ? frame(firstBytes) : firstBytes),
  );
  try {
    let next = await pendingSecond!;
    while (!next.done) {
      const bytes = toBytes(next.value);
      if (bytes.length) await writer.write(frame(bytes));
      next = await reader!.read();
    }
  } catch (error) {
    reader!.cancel(error).catch(() => {});
    throw new ResponseInterrupted(error);
  }
  if (chunked) await writer.write(LAST_CHUNK);
  return keepAlive;
}

async function pipeFixedLength(reader: ReadableStreamDefaultReader<Uint8Array>, writer: ByteWriter, length: number): Promise<void> {
  let written = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const bytes = toBytes(value);
      written += bytes.length;
      if (written > length) throw new Error(`response body is longer than its Content-Length of ${length}`);
      await writer.write(bytes);
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    throw new ResponseInterrupted(error);
  }
  if (written !== length) throw new ResponseInterrupted(`response body ended after ${written} of its Content-Length of ${length} bytes`);
}
