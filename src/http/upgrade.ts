/**
 * Connection takeover: how a protocol upgrade (WebSocket) leaves the HTTP loop.
 *
 * A handler returns a Response marked with `markUpgrade()` (or, Bun-style, calls `server.upgrade(request)`
 * which records such a Response for the request with `recordUpgrade()`). The connection loop then writes
 * `101 Switching Protocols` with that Response's headers instead of its status, stops parsing HTTP on the
 * connection, and passes the socket to the takeover function.
 */

/** Address details of one connection, given to handlers as `info`. */
export interface ConnectionInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Deno.serve's shape of the same facts. */
  remoteAddr: { transport: "tcp"; hostname: string; port: number };
}

/** The socket handed over after the 101 response has been written. */
export interface UpgradedConnection {
  /** Bytes the HTTP loop read past the end of the upgrade request (the first frames, possibly). */
  head: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  info: ConnectionInfo;
  /** Closes the TCP connection (after `writer.close()` where a graceful end is wanted). */
  close(): Promise<void>;
}

export type TakeOver = (connection: UpgradedConnection) => void;

const takeovers = new WeakMap<Response, TakeOver>();
const upgradesByRequest = new WeakMap<Request, Response>();

/** A Response that switches protocols: its headers go out with status 101, then `takeOver` owns the socket. */
export function markUpgrade(headers: HeadersInit, takeOver: TakeOver): Response {
  const response = new Response(null, { status: 200, headers });
  takeovers.set(response, takeOver);
  return response;
}

export function takeOverOf(response: Response): TakeOver | undefined {
  return takeovers.get(response);
}

/** Bun-style `server.upgrade(request)`: the handler may then return nothing. */
export function recordUpgrade(request: Request, response: Response): void {
  upgradesByRequest.set(request, response);
}

export function recordedUpgrade(request: Request): Response | undefined {
  return upgradesByRequest.get(request);
}
