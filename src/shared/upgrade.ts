/**
 * Connection takeover: how a protocol upgrade (WebSocket) leaves the HTTP loop. The contract between the HTTP/1.1
 * connection (which honours it) and the protocols that take a connection over; it depends on neither.
 *
 * A handler returns a Response marked with `markUpgrade()` (or, Bun-style, calls `server.upgrade(request)`
 * which records such a Response for the request with `recordUpgrade()`). The connection loop then waits for
 * the Response's headers to be complete (`upgradeHeaders()`), writes `101 Switching Protocols` with them
 * instead of its status, stops parsing HTTP on the connection, and passes the socket to the takeover function.
 */
import type { ByteReader, ByteWriter } from "../sockets/direct-io.js";
import type { TCPSocketOpenInfo } from "../sockets/types.js";

/** Address details of one connection, given to handlers as `info`. */
export interface ConnectionInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Deno.serve's shape of the same facts. */
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
  /** True on a TLS connection (request URLs are `https://`). */
  secure?: boolean;
}

/** The `info` of a connection, from its socket's open info: the same for HTTP/1.1 and HTTP/2. */
export function connectionInfo(opened: TCPSocketOpenInfo): ConnectionInfo {
  return {
    remoteAddress: opened.remoteAddress,
    remotePort: opened.remotePort,
    localAddress: opened.localAddress,
    localPort: opened.localPort,
    remoteAddr: { transport: "tcp", hostname: opened.remoteAddress, port: opened.remotePort },
    secure: opened.tls !== undefined,
  };
}

/** The socket handed over after the 101 response has been written. */
export interface UpgradedConnection {
  /** Bytes the HTTP loop read past the end of the upgrade request (the first frames, possibly). */
  head: Uint8Array;
  reader: ByteReader;
  writer: ByteWriter;
  info: ConnectionInfo;
  /** Closes the TCP connection (after `writer.close()` where a graceful end is wanted). */
  close(): Promise<void>;
}

export type TakeOver = (connection: UpgradedConnection) => void;

/** What happens around the 101 of an upgrade Response. */
export interface UpgradeHandlers {
  /** Owns the socket once the 101 is written. */
  takeOver: TakeOver;
  /** Started at once: adds headers that take asynchronous work (the WebSocket accept hash); a 500 if it rejects. */
  completeHeaders?: (headers: Headers) => Promise<void>;
  /** Called instead of `takeOver` when the 101 could not be written (the client left, or completing the headers failed). */
  abandon?: (reason: unknown) => void;
}

interface Upgrade extends UpgradeHandlers {
  /** Settles once the Response's headers are complete. */
  headersComplete: Promise<void> | undefined;
}

const upgrades = new WeakMap<Response, Upgrade>();
const upgradesByRequest = new WeakMap<Request, Response>();

/** A Response that switches protocols: its headers go out with status 101, then `handlers.takeOver` owns the socket. */
export function markUpgrade(headers: HeadersInit, handlers: UpgradeHandlers): Response {
  const response = new Response(null, { status: 200, headers });
  const headersComplete = handlers.completeHeaders?.(response.headers);
  // A Response that is never served must not leave an unhandled rejection behind; the loop still sees the failure.
  headersComplete?.catch(() => {});
  upgrades.set(response, { ...handlers, headersComplete });
  return response;
}

export function upgradeOf(response: Response): Readonly<Upgrade> | undefined {
  return upgrades.get(response);
}

/** Whether the server answers this Response with 101 and hands the connection over (its own status is not 101). */
export function isUpgrade(response: Response): boolean {
  return upgrades.has(response);
}

/** The headers for the 101 of a `markUpgrade()` Response, once complete; rejects when completing them failed. */
export async function upgradeHeaders(response: Response): Promise<Headers> {
  await upgrades.get(response)?.headersComplete;
  return response.headers;
}

/** Bun-style `server.upgrade(request)`: the handler may then return nothing. */
export function recordUpgrade(request: Request, response: Response): void {
  upgradesByRequest.set(request, response);
}

/**
 * The Response that `server.upgrade(request)` prepared for `request` (the server answers it 101 and hands the
 * connection over), for middleware around a handler that upgraded and returned nothing; undefined otherwise.
 */
export function upgradeResponse(request: Request): Response | undefined {
  return upgradesByRequest.get(request);
}
