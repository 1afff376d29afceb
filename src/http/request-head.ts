/**
 * What a parsed request head means beyond its framing: whether the connection stays open, whether the client
 * waits for 100 Continue, and the method and URL of the handler's Request (from Host and the target), with the
 * refusals each of those can bring.
 */
import { HttpError } from "./errors.js";
import type { RequestHead } from "./parser.js";
import { NORMALIZED_METHODS, normalizeMethod } from "./request.js";
import type { ConnectionInfo } from "../shared/upgrade.js";

/** The method and absolute URL of the request; 400 for a missing or repeated Host, 417, 501. */
export function requestMethodAndUrl(head: RequestHead, info: ConnectionInfo): { method: string; url: string } {
  const { host, hostCount, expect } = head.facts;
  if (head.version === "1.1" && hostCount === 0) throw new HttpError(400, "missing Host header");
  if (hostCount > 1) throw new HttpError(400, "more than one Host header");
  if (expect !== undefined && expect.toLowerCase() !== "100-continue") {
    throw new HttpError(417, `expectation '${expect}' is not supported`);
  }
  const url = requestUrl(head, host ?? localHost(info), info.secure ? "https" : "http");
  const method = normalizeMethod(head.method);
  // The methods fetch normalizes (nearly every request's) are supported; only others need the check.
  if (!NORMALIZED_METHODS.has(method) && UNSUPPORTED_METHODS.has(method.toUpperCase())) {
    throw new HttpError(501, `method ${method} is not supported`);
  }
  return { method, url };
}

/** The server's own address as a Host value, for HTTP/1.0 requests that send none. */
function localHost(info: ConnectionInfo): string {
  const local = info.localAddress.includes(":") ? `[${info.localAddress}]` : info.localAddress;
  return `${local}:${info.localPort}`;
}

function hasToken(value: string | undefined, token: string): boolean {
  return (
    value
      ?.toLowerCase()
      .split(",")
      .some((part) => part.trim() === token) ?? false
  );
}

export function wantsKeepAlive(head: RequestHead): boolean {
  const { connection } = head.facts;
  if (hasToken(connection, "close")) return false;
  return head.version === "1.1" || hasToken(connection, "keep-alive");
}

export function expectsContinue(head: RequestHead): boolean {
  return hasToken(head.facts.expect, "100-continue");
}

/** Methods a web Request cannot have. */
const UNSUPPORTED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** RFC 9110 §7.2 Host: uri-host [ ":" port ], with uri-host a reg-name or an IP literal. */
const HOST_FIELD = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(:\d{0,5})?$/;
/** Characters the URL parser percent-encodes or reads specially in a path or query. */
const REWRITTEN_IN_TARGET = new Uint8Array(128);
for (const c of "\"#'<>\\^`{|}") REWRITTEN_IN_TARGET[c.charCodeAt(0)] = 1;

/**
 * Whether an origin-form target (visible ASCII, as the parser admits) is one the URL parser keeps exactly as it is:
 * none of the characters it rewrites, and nothing that may start a dot segment to remove (`/.`, `/%2e`). A loop,
 * not regular expressions: on a cold request path in Chromium the two expressions took 0.4 µs.
 */
function isVerbatimTarget(target: string): boolean {
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code >= 128 || REWRITTEN_IN_TARGET[code]) return false;
    if (code === 0x2f) {
      const next = target.charCodeAt(i + 1);
      if (next === 0x2e) return false;
      if (next === 0x25 && target.charCodeAt(i + 2) === 0x32 && (target.charCodeAt(i + 3) | 0x20) === 0x65) return false;
    }
  }
  return true;
}
/** Serialized origins by Host value, one map per scheme: a connection, and most servers, see one or a few. */
const origins = { http: new Map<string, string>(), https: new Map<string, string>() };
const MAX_CACHED_ORIGINS = 256;
let lastOrigin: { host: string; scheme: string; origin: string } | undefined;

/** The scheme and the Host as the URL parser serializes it (lower case, default port dropped, IPv4 normalized). */
function originOf(host: string, scheme: "http" | "https"): string {
  // Consecutive requests nearly always name the same host: one comparison instead of hashing a new string.
  if (host === lastOrigin?.host && scheme === lastOrigin.scheme) return lastOrigin.origin;
  const cache = origins[scheme];
  let origin = cache.get(host);
  if (origin === undefined) {
    if (!HOST_FIELD.test(host)) throw new HttpError(400, `invalid Host header '${host}'`);
    origin = `${scheme}://${parseUrl(`${scheme}://${host}/`, `invalid Host header '${host}'`).host}`;
    if (cache.size >= MAX_CACHED_ORIGINS) cache.clear();
    cache.set(host, origin);
  }
  lastOrigin = { host, scheme, origin };
  return origin;
}

/** The URL parsed; a 400 saying `what` was invalid when it cannot be. */
function parseUrl(url: string, what: string): URL {
  try {
    return new URL(url);
  } catch (error) {
    throw new HttpError(400, `${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The request's URL, serialized exactly as `new Request(url).url` would give it. */
function requestUrl(head: RequestHead, host: string, scheme: "http" | "https"): string {
  const target = head.target;
  const origin = originOf(host, scheme);
  // Origin-form, nearly every request: kept as it is when the URL parser would not change it.
  if (target.charCodeAt(0) === 0x2f) {
    return isVerbatimTarget(target) ? origin + target : parseUrl(origin + target, `invalid request target '${target}'`).href;
  }
  if (target === "*" && head.method === "OPTIONS") return `${origin}/*`;
  if (/^https?:\/\//i.test(target)) {
    const url = parseUrl(target, `invalid request target '${target}'`);
    // RFC 9110 §4.2.4: userinfo in an http(s) URI is to be treated as an error (it disguises the authority).
    if (url.username || url.password) throw new HttpError(400, "userinfo in the request target");
    return url.href;
  }
  throw new HttpError(400, `invalid request target '${target}'`);
}
