import { FastResponse } from "../http/fast-response.js";
import { requestField } from "../http/request.js";
import { whenSettled } from "../shared/maybe-promise.js";
import type { FetchHandler } from "./serve.js";

/** Cross-origin access, including Private Network Access preflights, for handlers that opt in. */
export interface CorsOptions {
  /** Origins allowed: "*" (default), one origin, a list, or a predicate. */
  origin?: "*" | string | readonly string[] | ((origin: string) => boolean);
  /** Methods a preflight allows; default GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS. */
  methods?: readonly string[];
  /** Request headers a preflight allows; default: whatever the preflight asks for. */
  allowHeaders?: readonly string[];
  /** Response headers scripts may read. */
  exposeHeaders?: readonly string[];
  /** Send `Access-Control-Allow-Credentials: true` (the origin is then echoed, never "*"). */
  credentials?: boolean;
  /** Seconds a preflight may be cached; default 600. */
  maxAge?: number;
  /** Answer `Access-Control-Request-Private-Network` preflights with consent; default true. */
  privateNetwork?: boolean;
}

const DEFAULT_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

function allowedOrigin(options: CorsOptions, origin: string | null): string | undefined {
  const rule = options.origin ?? "*";
  if (rule === "*") return options.credentials && origin ? origin : "*";
  if (origin === null) return undefined;
  if (typeof rule === "function") return rule(origin) ? origin : undefined;
  if (typeof rule === "string") return rule === origin ? origin : undefined;
  return rule.includes(origin) ? origin : undefined;
}

/** The CORS response fields for `request`'s origin; none when the origin is not allowed. */
function originFields(options: CorsOptions, request: Request): Array<[string, string]> {
  const origin = allowedOrigin(options, requestField(request, "origin"));
  if (origin === undefined) return [];
  const fields: Array<[string, string]> = [["access-control-allow-origin", origin]];
  if (origin !== "*") fields.push(["vary", "Origin"]);
  if (options.credentials) fields.push(["access-control-allow-credentials", "true"]);
  return fields;
}

/** The answer to a CORS/PNA preflight, or undefined when the request is not one. */
export function preflightResponse(request: Request, options: CorsOptions = {}): Response | undefined {
  if (request.method !== "OPTIONS" || !request.headers.has("access-control-request-method")) return undefined;
  const fields = originFields(options, request);
  if (fields.length === 0) return new Response(null, { status: 403 });
  const headers = new Headers(fields);
  headers.set("access-control-allow-methods", (options.methods ?? DEFAULT_METHODS).join(", "));
  const requested = request.headers.get("access-control-request-headers");
  const allowHeaders = options.allowHeaders?.join(", ") ?? requested;
  if (allowHeaders) headers.set("access-control-allow-headers", allowHeaders);
  headers.set("access-control-max-age", String(options.maxAge ?? 600));
  if ((options.privateNetwork ?? true) && request.headers.get("access-control-request-private-network") === "true") {
    headers.set("access-control-allow-private-network", "true");
  }
  headers.append("vary", "Access-Control-Request-Method, Access-Control-Request-Headers");
  return new Response(null, { status: 204, headers });
}

/** Adds the CORS response headers for `request` to `response` (copying it when its headers are immutable). */
export function withCorsHeaders(request: Request, response: Response, options: CorsOptions = {}): Response {
  // Plain pairs rather than a Headers object: this runs for every response.
  const extra = originFields(options, request);
  if (options.exposeHeaders?.length) extra.push(["access-control-expose-headers", options.exposeHeaders.join(", ")]);
  if (extra.length === 0) return response;
  let target = response;
  try {
    for (const [name, value] of extra) FastResponse.appendHeader(target, name, value);
  } catch {
    target = new Response(response.body, response);
    for (const [name, value] of extra) target.headers.append(name, value);
  }
  return target;
}

/** Wraps a handler: preflights are answered here, every other response gets the CORS headers. */
export function cors(handler: FetchHandler, options: CorsOptions = {}): FetchHandler {
  return (request, info) => {
    const preflight = preflightResponse(request, options);
    if (preflight) return preflight;
    return whenSettled(handler(request, info), (response) => response && withCorsHeaders(request, response, options));
  };
}
