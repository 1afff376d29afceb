import { decodeLatin1, indexOfCrlf } from "../shared/bytes.js";
import { HttpError } from "./errors.js";
import type { Limits } from "./limits.js";

/** A parsed request line and header section (RFC 9112 §2–5). */
export interface RequestHead {
  method: string;
  /** The request target exactly as sent: origin-form, absolute-form, authority-form or "*". */
  target: string;
  version: "1.0" | "1.1";
  /** Field lines in arrival order; names lower-cased, values trimmed of surrounding whitespace. */
  headers: Array<[string, string]>;
  /** The fields the server itself acts on, gathered in the same pass. */
  facts: FieldFacts;
}

/** Fields that occur more than once are joined with ", " (RFC 9110 §5.3); `hostCount` tells a repeated Host. */
export interface FieldFacts {
  host: string | undefined;
  hostCount: number;
  connection: string | undefined;
  expect: string | undefined;
  upgrade: string | undefined;
  transferEncoding: string | undefined;
  contentLength: string | undefined;
}

const join = (found: string | undefined, value: string) => (found === undefined ? value : `${found}, ${value}`);

function noteField(facts: FieldFacts, name: string, value: string): void {
  switch (name) {
    case "host":
      facts.host = value;
      facts.hostCount++;
      break;
    case "connection":
      facts.connection = join(facts.connection, value);
      break;
    case "expect":
      facts.expect = join(facts.expect, value);
      break;
    case "upgrade":
      facts.upgrade = join(facts.upgrade, value);
      break;
    case "transfer-encoding":
      facts.transferEncoding = join(facts.transferEncoding, value);
      break;
    case "content-length":
      facts.contentLength = join(facts.contentLength, value);
      break;
  }
}

/** How the body that follows a head is delimited. */
export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** RFC 9110 §5.6.2 tchar. */
export const TOKEN_CHARS = (() => {
  const table = new Uint8Array(256);
  for (const c of "!#$%&'*+-.^_`|~") table[c.charCodeAt(0)] = 1;
  for (let c = 0x30; c <= 0x39; c++) table[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = 1;
  return table;
})();

/** Field-value bytes: VCHAR, obs-text, SP and HTAB (no other control characters). */
function isFieldValueByte(byte: number): boolean {
  return byte === HTAB || (byte >= SP && byte !== 0x7f);
}

/** Request-target bytes: visible ASCII only (RFC 3986 characters; anything else is malformed). */
function isTargetByte(byte: number): boolean {
  return byte > SP && byte < 0x7f;
}

/**
 * Parses a request head: `bytes[0..end)` holds the request line and field lines, each ending in CRLF
 * (the final empty line excluded). Throws HttpError with the status to answer.
 */
export function parseRequestHead(bytes: Uint8Array, end: number, limits: Limits): RequestHead {
  // The head as text once, one character per byte: each piece below is a slice of it, which costs less than
  // decoding a dozen short ranges apart.
  const text = decodeLatin1(bytes, 0, end);
  let lineEnd = indexOfCrlf(bytes);
  if (lineEnd === -1 || lineEnd > end) lineEnd = end;
  const { method, target, version } = parseRequestLine(bytes, text, lineEnd, limits);
  const headers: Array<[string, string]> = [];
  const facts: FieldFacts = {
    host: undefined,
    hostCount: 0,
    connection: undefined,
    expect: undefined,
    upgrade: undefined,
    transferEncoding: undefined,
    contentLength: undefined,
  };
  let start = lineEnd + 2;
  while (start < end) {
    let fieldEnd = indexOfCrlf(bytes, start);
    if (fieldEnd === -1 || fieldEnd > end) fieldEnd = end;
    const field = parseFieldLine(bytes, text, start, fieldEnd);
    headers.push(field);
    noteField(facts, field[0], field[1]);
    start = fieldEnd + 2;
  }
  return { method, target, version, headers, facts };
}

function parseRequestLine(
  bytes: Uint8Array,
  text: string,
  end: number,
  limits: Limits,
): Pick<RequestHead, "method" | "target" | "version"> {
  let i = 0;
  while (i < end && TOKEN_CHARS[bytes[i]!]) i++;
  if (i === 0 || bytes[i] !== SP) throw new HttpError(400, "malformed request line: bad method");
  const method = text.slice(0, i);
  const targetStart = ++i;
  while (i < end && isTargetByte(bytes[i]!)) i++;
  if (i - targetStart > limits.maxRequestTargetLength) throw new HttpError(414, "request target too long");
  if (i === targetStart || bytes[i] !== SP) throw new HttpError(400, "malformed request line: bad request target");
  const target = text.slice(targetStart, i);
  // HTTP-version = "HTTP/" DIGIT "." DIGIT, compared byte by byte (a regular expression's match costs more).
  const v = i + 1;
  let wellFormed = end - v === HTTP_SLASH.length + 3;
  for (let k = 0; wellFormed && k < HTTP_SLASH.length; k++) wellFormed = bytes[v + k] === HTTP_SLASH[k];
  const major = bytes[v + 5]!;
  const minor = bytes[v + 7]!;
  if (!wellFormed || !isDigit(major) || bytes[v + 6] !== 0x2e || !isDigit(minor)) {
    throw new HttpError(400, "malformed request line: bad HTTP version");
  }
  if (major !== 0x31) throw new HttpError(505, `HTTP version ${text.slice(v + 5, end)} is not supported`);
  // HTTP/1.x with a minor version above 1 is answered as 1.1 (RFC 9110 §6.2).
  return { method, target, version: minor === 0x30 ? "1.0" : "1.1" };
}

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f];

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

function parseFieldLine(bytes: Uint8Array, text: string, start: number, end: number): [string, string] {
  const first = bytes[start];
  if (first === SP || first === HTAB) throw new HttpError(400, "obsolete line folding is not accepted");
  let i = start;
  while (i < end && TOKEN_CHARS[bytes[i]!]) i++;
  if (i === start || bytes[i] !== COLON) throw new HttpError(400, "malformed header field name");
  const name = text.slice(start, i).toLowerCase();
  let valueStart = i + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && (bytes[valueStart] === SP || bytes[valueStart] === HTAB)) valueStart++;
  while (valueEnd > valueStart && (bytes[valueEnd - 1] === SP || bytes[valueEnd - 1] === HTAB)) valueEnd--;
  for (let j = valueStart; j < valueEnd; j++) {
    if (!isFieldValueByte(bytes[j]!)) throw new HttpError(400, `invalid character in header field '${name}'`);
  }
  return [name, text.slice(valueStart, valueEnd)];
}

const CONTENT_LENGTH = /^\d{1,16}$/;

/** Decides the body framing from the head (RFC 9112 §6.3), rejecting ambiguous or unsupported framing. */
export function bodyFraming(head: RequestHead, limits: Limits): BodyFraming {
  const { transferEncoding } = head.facts;
  const declared = head.facts.contentLength;
  // One plain number, as nearly every client sends it; else a list whose members must all agree.
  let contentLength = declared !== undefined && CONTENT_LENGTH.test(declared) ? declared : undefined;
  if (contentLength === undefined && declared !== undefined) {
    for (const part of declared.split(",")) {
      const length = part.trim();
      if (!CONTENT_LENGTH.test(length)) throw new HttpError(400, `invalid Content-Length '${declared}'`);
      if (contentLength !== undefined && Number(contentLength) !== Number(length)) {
        throw new HttpError(400, "conflicting Content-Length values");
      }
      contentLength = length;
    }
  }
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) throw new HttpError(400, "both Content-Length and Transfer-Encoding are present");
    // RFC 9112 §6.1: HTTP/1.0 has no transfer codings, so such framing is faulty (a smuggling vector otherwise).
    if (head.version === "1.0") throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
    const codings = transferEncoding
      .split(",")
      .map((coding) => coding.trim().toLowerCase())
      .filter(Boolean);
    const unsupported = codings.find((coding) => coding !== "chunked");
    if (unsupported !== undefined) throw new HttpError(501, `transfer coding '${unsupported}' is not implemented`);
    if (codings.length !== 1) throw new HttpError(400, "chunked must be applied exactly once, last");
    return { kind: "chunked" };
  }
  if (contentLength === undefined) return { kind: "none" };
  const length = Number(contentLength);
  if (length > limits.maxBodySize) throw new HttpError(413, `request body of ${length} bytes exceeds the limit of ${limits.maxBodySize}`);
  return length === 0 ? { kind: "none" } : { kind: "length", length };
}
