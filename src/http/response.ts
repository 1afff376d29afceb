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

/** Header text (ISO-8859-1, one byte per character: Headers hold byte strings) into `out` at `offset`; returns the end. */
function writeLatin1(text: string, out: Uint8Array, offset: number): number {
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i);
  return offset + text.length;
}

/**
 * ASCII text up to this length is copied character by character rather than through TextEncoder: cheaper for
 * short text in Chromium (whose binding costs most up to ~150 characters) and on Node (up to ~30).
 */
const MAX_COPIED_TEXT = 64;

/** A response's header fields as written, without those the connection manages; `Connection: close` noted. */
interface HeadFields {
  lines: ReadonlyArray<Readonly<Line>>;
  /** Bytes the lines take on the wire. */
  size: number;
  keepAlive: boolean;
  declaredLength: number | undefined;
}

/**
 * How the body is delimited: a Content-Length of that many bytes, a Transfer-Encoding line, or nothing (no body,
 * or the handler's own Content-Length, or the connection's close).
 */
type Framing = number | "transfer-encoding: chunked\r\n" | "";

/**
 * The head (status line, `fields`, date, framing and connection lines) and the body after it, in one buffer. The
 * pieces are copied straight in: joining them into one string first allocated several strings per response and
 * a flat copy of the whole.
 */
function encodeMessage(
  status: number,
  fields: HeadFields,
  framing: Framing,
  connection: string,
  body: string | Uint8Array | null,
): Uint8Array {
  const start = statusLine(status);
  const date = dateLine();
  const length = typeof framing === "number" ? String(framing) : "";
  const headSize =
    start.length +
    fields.size +
    date.length +
    (length ? CONTENT_LENGTH.length + length.length + 2 : (framing as string).length) +
    connection.length +
    2;
  const out = allocate(headSize + (body?.length ?? 0));
  let at = writeLatin1(start, out, 0);
  for (const [name, value] of fields.lines) at = writeFieldLine(name, value, out, at);
  at = writeLatin1(date, out, at);
  if (length) {
    at = writeLatin1(CONTENT_LENGTH, out, at);
    at = writeLatin1(length, out, at);
    out[at++] = 13;
    out[at++] = 10;
  } else at = writeLatin1(framing as string, out, at);
  at = writeLatin1(connection, out, at);
  out[at++] = 13;
  out[at++] = 10;
  if (body === null || body.length === 0) return out;
  // A string body is ASCII here. A short one is copied like the head (encodeInto took 0.8 µs a request in
  // Chromium's profile for "Hello, world!").
  if (typeof body !== "string") out.set(body, at);
  else if (body.length <= MAX_COPIED_TEXT) writeLatin1(body, out, at);
  else ENCODER.encodeInto(body, out.subarray(at));
  return out;
}

/** `name: value` and CRLF into `out` at `offset`; returns the end. */
function writeFieldLine(name: string, value: string, out: Uint8Array, offset: number): number {
  let at = writeLatin1(name, out, offset);
  out[at++] = 58; // ":"
  out[at++] = 32;
  at = writeLatin1(value, out, at);
  out[at++] = 13;
  out[at++] = 10;
  return at;
}

const CONTENT_LENGTH = "content-length: ";
let dateSecond = "";
let cachedDateLine = "";

/** The Date field's line, made once per second. */
function dateLine(): string {
  const date = httpDate();
  if (date !== dateSecond) {
    dateSecond = date;
    cachedDateLine = `date: ${date}\r\n`;
  }
  return cachedDateLine;
}

/** The status line and header section, including the terminating empty line. */
export function serializeHead(status: number, headers: Iterable<[string, string]>): Uint8Array {
  const lines = [...headers];
  let size = 0;
  for (const [name, value] of lines) size += name.length + value.length + 4;
  const out = allocate(statusLine(status).length + size + 2);
  let at = writeLatin1(statusLine(status), out, 0);
  for (const [name, value] of lines) at = writeFieldLine(name, value, out, at);
  writeLatin1("\r\n", out, at);
  return out;
}

/**
 * The handler's header fields as they go out: the connection's own (Connection, Date, …) dropped, Content-Length
 * checked, `Connection: close` noted. Lines kept as the handler gave them are not copied.
 */
function headFields(headers: Headers | ReadonlyArray<Readonly<Line>>, keepAlive: boolean): HeadFields {
  const given = Array.isArray(headers) ? headers : (LineHeaders.linesOf(headers as Headers) ?? headersAsLines(headers as Headers));
  const fields: HeadFields = { lines: given, size: 0, keepAlive, declaredLength: undefined };
  let kept: Readonly<Line>[] | undefined;
  for (let i = 0; i < given.length; i++) {
    const line = given[i]!;
    if (keepsLine(fields, line[0], line[1])) {
      kept?.push(line);
      fields.size += line[0].length + line[1].length + 4;
    } else kept ??= given.slice(0, i);
  }
  if (kept) fields.lines = kept;
  return fields;
}

/** A native Headers' fields as lines; Set-Cookie lines each on their own (Headers' iteration joins nothing else). */
function headersAsLines(headers: Headers): Line[] {
  const lines: Line[] = [];
  let setCookies = false;
  for (const line of headers) {
    if (line[0] === "set-cookie") setCookies = true;
    else lines.push(line);
  }
  if (setCookies) for (const cookie of headers.getSetCookie()) lines.push(["set-cookie", cookie]);
  return lines;
}

/** Whether a field line goes out as the handler gave it; notes `Connection: close` and the Content-Length. */
function keepsLine(fields: HeadFields, name: string, value: string): boolean {
  if (name === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) fields.keepAlive = false;
  if (CONNECTION_MANAGED.has(name)) return false;
  if (name !== "content-length") return true;
  // Nothing is written yet: the server can still answer 500 for the handler's mistake.
  if (!/^\d+$/.test(value)) throw new HttpError(500, `invalid Content-Length '${value}' in the handler's response`);
  // Lines of one name may repeat here; they must agree, as the one value Headers would join them into must.
  if (fields.declaredLength !== undefined && fields.declaredLength !== Number(value)) {
    throw new HttpError(500, "conflicting Content-Length values in the handler's response");
  }
  if (fields.declaredLength !== undefined) return false;
  fields.declaredLength = Number(value);
  return true;
}

function connectionLine(keepAlive: boolean, version: "1.0" | "1.1"): string {
  if (!keepAlive) return "connection: close\r\n";
  return version === "1.0" ? "connection: keep-alive\r\n" : "";
}

/** A response whose body is in memory: status line, header section and body written at once, no stream read. */
function writeInMemory(writer: ByteWriter, parts: ResponseParts, target: ResponseTarget): Promise<boolean> {
  const { status } = parts;
  const fields = headFields(parts.headers, target.keepAlive);
  let body = parts.body;
  if (typeof body === "string" && !ASCII.test(body)) body = ENCODER.encode(body);
  const length = body?.length ?? 0;
  const bodyless = statusHasNoBody(status) || target.method === "HEAD";
  if (fields.declaredLength !== undefined && fields.declaredLength !== length && !bodyless) {
    throw new HttpError(500, `the handler's response declares a Content-Length of ${fields.declaredLength} for a body of ${length} bytes`);
  }
  const framing = fields.declaredLength === undefined && !statusHasNoBody(status) ? length : "";
  const connection = connectionLine(fields.keepAlive, target.version);
  if (bodyless) body = null;
  const keptAlive = fields.keepAlive ? KEPT_ALIVE : CLOSED;
  if (body !== null && typeof body !== "string" && body.length > MAX_JOINED_BODY) {
    writer.write(encodeMessage(status, fields, framing, connection, null)).catch(() => {});
    return writer.write(body).then(keptAlive);
  }
  return writer.write(encodeMessage(status, fields, framing, connection, body)).then(keptAlive);
}

// What a written response says about its connection, made once rather than as a closure per response.
const KEPT_ALIVE = () => true;
const CLOSED = () => false;

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
  const fields = headFields(response.headers, target.keepAlive);
  const { declaredLength } = fields;
  let keepAlive = fields.keepAlive;
  const head = (framing: Framing = "") => encodeMessage(status, fields, framing, connectionLine(keepAlive, target.version), null);

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
    await writer.write(head(addLength ? knownLength : ""));
    return keepAlive;
  }

  if (knownLength !== undefined) {
    const fixedHead = head(declaredLength === undefined ? knownLength : "");
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
