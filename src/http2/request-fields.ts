/**
 * The request a decoded header block describes (RFC 9113 §8.3, §8.2): pseudo-header fields first, each once, only
 * the request ones; field names in lower case and valid; no connection-specific fields; `te` only "trailers";
 * values without NUL, CR, LF or surrounding whitespace. A block that breaks a rule is malformed: a stream error
 * PROTOCOL_ERROR, thrown here as an Http2Error with the stream id.
 */
import { ErrorCode, Http2Error } from "./errors.js";
import type { HeaderField } from "./hpack.js";
import { normalizeMethod } from "../http/request.js";
import { TOKEN } from "../shared/token.js";

export interface RequestFields {
  method: string;
  /** :path as sent ("*" for a server-wide OPTIONS). */
  path: string;
  scheme: string | undefined;
  authority: string | undefined;
  /** Regular fields, cookies joined into one (§8.2.3). */
  fields: HeaderField[];
  contentLength: number | undefined;
}

/** A field name: a token in lower case, as HTTP/2 requires (§8.2.1). */
const LOWER_CASE_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

export function requestFields(streamId: number, block: HeaderField[]): RequestFields {
  const malformed = (why: string) => new Http2Error(ErrorCode.PROTOCOL_ERROR, `malformed request: ${why}`, streamId);
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let regular = false;
  let contentLength: number | undefined;
  const fields: HeaderField[] = [];
  let cookies: string[] | undefined;
  for (const [name, value] of block) {
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular) throw malformed(`pseudo-header ${name} after a regular field`);
      if (name === ":method" && method === undefined) method = value;
      else if (name === ":path" && path === undefined) path = value;
      else if (name === ":scheme" && scheme === undefined) scheme = value;
      else if (name === ":authority" && authority === undefined) authority = value;
      else throw malformed(`pseudo-header ${name} unknown or repeated`);
      continue;
    }
    regular = true;
    if (!LOWER_CASE_TOKEN.test(name)) throw malformed(`field name '${name}'`);
    if (CONNECTION_SPECIFIC.has(name)) throw malformed(`connection-specific field ${name}`);
    if (BAD_VALUE.test(value)) throw malformed(`value of ${name}`);
    if (name === "te" && value !== "trailers") throw malformed("te other than trailers");
    if (name === "content-length") {
      if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) {
        throw malformed("content-length");
      }
      contentLength = Number(value);
    }
    if (name === "cookie") (cookies ??= []).push(value);
    else fields.push([name, value]);
  }
  if (cookies) fields.push(["cookie", cookies.join("; ")]);
  if (method === undefined || !TOKEN.test(method)) throw malformed(":method missing or invalid");
  if (method === "CONNECT") {
    if (scheme !== undefined || path !== undefined || !authority) throw malformed("CONNECT with :scheme or :path, or without :authority");
    return { method, path: "", scheme, authority, fields, contentLength };
  }
  if (scheme === undefined || path === undefined || path === "") throw malformed(":scheme or :path missing");
  if (path !== "*" && path.charCodeAt(0) !== 47 /* / */) throw malformed(":path not an origin-form target");
  if (path === "*" && method !== "OPTIONS") throw malformed(":path * without OPTIONS");
  if (authority !== undefined && (authority.includes("@") || BAD_VALUE.test(authority))) throw malformed(":authority");
  return { method: normalizeMethod(method), path, scheme, authority, fields, contentLength };
}

/** RFC 9110 §7.2 uri-host [ ":" port ]. */
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(:\d{0,5})?$/;
const VERBATIM_PATH = /^\/[^"#'<>\\^`{|}\s]*$/;
const DOT_SEGMENT = /\/(?:\.|%2e)/i;
const origins = new Map<string, string>();
const MAX_ORIGINS = 256;

/** The request URL as `new Request(url).url` serializes it; undefined when the authority or path is not valid. */
export function requestUrl(scheme: "http" | "https", authority: string, path: string): string | undefined {
  if (!HOST.test(authority)) return undefined;
  const key = `${scheme}://${authority}`;
  let origin = origins.get(key);
  if (origin === undefined) {
    try {
      origin = new URL(key).origin;
    } catch {
      return undefined;
    }
    if (origins.size >= MAX_ORIGINS) origins.clear();
    origins.set(key, origin);
  }
  if (path === "*") return `${origin}/`;
  if (VERBATIM_PATH.test(path) && !DOT_SEGMENT.test(path)) return origin + path;
  try {
    return new URL(origin + path).href;
  } catch {
    return undefined;
  }
}
