/** The opening handshake, server side (RFC 6455 section 4.2): request validation and the 101 response. */

import { decodeLatin1 } from "../shared/bytes.js";
import { markUpgrade, type TakeOver } from "../shared/upgrade.js";
import { negotiatePerMessageDeflate, type DeflateParameters, type PerMessageDeflateOptions } from "./extensions.js";

export interface HandshakeOptions {
  /** Subprotocols this server speaks, in order of preference; or a function choosing among the client's offer. */
  protocols?: readonly string[] | ((offered: string[]) => string | undefined);
  /** Allowed `Origin` values; absent means any origin (and requests without one) are accepted. */
  origins?: readonly string[];
  /** permessage-deflate: off unless enabled. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

export type HandshakeResult =
  | {
      ok: true;
      /** The 101 response's headers except Sec-WebSocket-Accept, which `acceptKey(key)` computes asynchronously. */
      headers: Headers;
      /** The client's Sec-WebSocket-Key. */
      key: string;
      protocol: string;
      extensions: string;
      deflate: DeflateParameters | undefined;
    }
  | { ok: false; status: number; message: string; headers: Headers };

export type AcceptedHandshake = Extract<HandshakeResult, { ok: true }>;

const HANDSHAKE_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

function tokens(value: string | null): string[] {
  return (value ?? "")
    .split(",")
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
}

const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

function reject(status: number, message: string, headers: HeadersInit = {}): HandshakeResult {
  return { ok: false, status, message, headers: new Headers(headers) };
}

/** Validates a WebSocket upgrade request; on success gives the headers for the 101 response except the accept value. */
export function acceptHandshake(request: Request, options: HandshakeOptions = {}, extraHeaders?: HeadersInit): HandshakeResult {
  if (request.method !== "GET") return reject(405, "WebSocket upgrades must use GET", { allow: "GET" });
  const headers = request.headers;
  if (!tokens(headers.get("upgrade")).includes("websocket")) return reject(400, "missing 'Upgrade: websocket'");
  if (!tokens(headers.get("connection")).includes("upgrade")) return reject(400, "missing 'Connection: Upgrade'");
  if (headers.get("sec-websocket-version") !== "13") {
    return reject(426, "unsupported Sec-WebSocket-Version", { "sec-websocket-version": "13", upgrade: "websocket" });
  }
  const key = headers.get("sec-websocket-key")?.trim() ?? "";
  if (!KEY.test(key)) return reject(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  const origin = headers.get("origin");
  if (options.origins && (origin === null || !options.origins.includes(origin))) {
    return reject(403, "origin not allowed");
  }

  const response = new Headers(extraHeaders);
  response.set("upgrade", "websocket");
  response.set("connection", "Upgrade");

  let protocol = response.get("sec-websocket-protocol") ?? "";
  const offered = (headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (!protocol && options.protocols && offered.length) {
    const chosen =
      typeof options.protocols === "function"
        ? options.protocols(offered)
        : options.protocols.find((supported) => offered.includes(supported));
    if (chosen !== undefined && offered.includes(chosen)) protocol = chosen;
  }
  if (protocol) {
    // A protocol the client did not offer would make it fail the connection (RFC 6455 section 4.1).
    if (!offered.includes(protocol)) return reject(400, `subprotocol '${protocol}' was not offered`);
    response.set("sec-websocket-protocol", protocol);
  }

  let deflate: DeflateParameters | undefined;
  let extensions = "";
  if (options.perMessageDeflate) {
    const settings = options.perMessageDeflate === true ? {} : options.perMessageDeflate;
    const negotiated = negotiatePerMessageDeflate(headers.get("sec-websocket-extensions"), settings);
    if (negotiated) {
      deflate = negotiated.parameters;
      extensions = negotiated.response;
      response.set("sec-websocket-extensions", extensions);
    }
  }
  return { ok: true, headers: response, key, protocol, extensions, deflate };
}

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 section 4.2.2). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + HANDSHAKE_GUID));
  return btoa(decodeLatin1(new Uint8Array(digest)));
}

/**
 * The 101 response for an accepted handshake. Its Sec-WebSocket-Accept header is added when the digest
 * resolves, before the server writes the response (the server answers 500 if the digest fails). `abandon`
 * hears when the 101 could not be written.
 */
export function upgradeResponse(handshake: AcceptedHandshake, takeOver: TakeOver, abandon?: (reason: unknown) => void): Response {
  return markUpgrade(handshake.headers, {
    takeOver,
    abandon,
    completeHeaders: async (headers) => {
      headers.set("sec-websocket-accept", await acceptKey(handshake.key));
    },
  });
}

/** The HTTP response for a refused upgrade. */
export function rejectionResponse(result: Extract<HandshakeResult, { ok: false }>): Response {
  const headers = new Headers(result.headers);
  headers.set("content-type", "text/plain; charset=utf-8");
  return new Response(`${result.message}\n`, { status: result.status, headers });
}
