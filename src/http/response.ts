import { concatBytes, encodeLatin1 } from "./bytes.js";
import { httpDate } from "./date.js";
import { HttpError, ResponseInterrupted } from "./errors.js";
import { REASON_PHRASES } from "./status.js";

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

function statusHasNoBody(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** The status line and header section, including the terminating empty line. */
export function serializeHead(status: number, headers: Iterable<[string, string]>): Uint8Array {
  let text = `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? ""}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return encodeLatin1(`${text}\r\n`);
}

function chunkFrame(data: Uint8Array): Uint8Array {
  const size = ENCODER.encode(`${data.length.toString(16)}\r\n`);
  const frame = new Uint8Array(size.length + data.length + 2);
  frame.set(size, 0);
  frame.set(data, size.length);
  frame.set(CRLF, size.length + data.length);
  return frame;
}

function toBytes(chunk: unknown): Uint8Array {
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
export async function writeResponse(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  response: Response,
  target: ResponseTarget,
): Promise<boolean> {
  const status = response.status;
  const headers: Array<[string, string]> = [];
  let declaredLength: number | undefined;
  let keepAlive = target.keepAlive;
  let setCookies = false;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") {
      setCookies = true;
      continue;
    }
    if (name === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) keepAlive = false;
    if (CONNECTION_MANAGED.has(name)) continue;
    if (name === "content-length") {
      declaredLength = Number(value);
      // Nothing is written yet: the server can still answer 500 for the handler's mistake.
      if (!/^\d+$/.test(value)) throw new HttpError(500, `invalid Content-Length '${value}' in the handler's response`);
    }
    headers.push([name, value]);
  }
  if (setCookies) for (const cookie of response.headers.getSetCookie()) headers.push(["set-cookie", cookie]);
  headers.push(["date", httpDate()]);

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
    if (knownLength !== undefined && !statusHasNoBody(status) && declaredLength === undefined) {
      headers.push(["content-length", String(knownLength)]);
    }
    pushConnectionHeader(headers, keepAlive, target.version);
    await reader?.cancel().catch(() => {});
    await writer.write(serializeHead(status, headers));
    return keepAlive;
  }

  if (knownLength !== undefined) {
    if (declaredLength === undefined) headers.push(["content-length", String(knownLength)]);
    pushConnectionHeader(headers, keepAlive, target.version);
    const head = serializeHead(status, headers);
    if (!reader || declaredLength === undefined) {
      await writer.write(first.done ? head : concatBytes(head, toBytes(first.value)));
      return keepAlive;
    }
    await writer.write(head);
    await pipeFixedLength(reader, writer, declaredLength);
    return keepAlive;
  }

  // Length unknown: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
  const chunked = target.version === "1.1";
  if (chunked) headers.push(["transfer-encoding", "chunked"]);
  else keepAlive = false;
  pushConnectionHeader(headers, keepAlive, target.version);
  const frame = chunked ? chunkFrame : (data: Uint8Array) => data;
  const firstBytes = toBytes(first.value);
  await writer.write(concatBytes(serializeHead(status, headers), firstBytes.length ? frame(firstBytes) : firstBytes));
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

function pushConnectionHeader(headers: Array<[string, string]>, keepAlive: boolean, version: "1.0" | "1.1"): void {
  if (!keepAlive) headers.push(["connection", "close"]);
  else if (version === "1.0") headers.push(["connection", "keep-alive"]);
}

async function pipeFixedLength(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  length: number,
): Promise<void> {
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
