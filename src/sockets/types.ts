import type { DIRECT_IO, DirectIo } from "./direct-io.js";

/**
 * The WICG Direct Sockets API as Chromium ships it (https://wicg.github.io/direct-sockets/).
 * The browser provides these as globals inside an Isolated Web App; the adapters in this folder
 * give Node, Deno and Bun objects of exactly this shape.
 */

export interface TCPSocketOptions {
  sendBufferSize?: number;
  receiveBufferSize?: number;
  noDelay?: boolean;
  /** Milliseconds of idleness before TCP keep-alive probes start; absent means keep-alive off. */
  keepAliveDelay?: number;
  dnsQueryType?: "ipv4" | "ipv6";
}

export interface TCPSocketOpenInfo {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** This project's adapters only (see direct-io.ts). */
  [DIRECT_IO]?: () => DirectIo;
  /** This project's TLS wrapper only (src/tls/socket.ts): what the handshake agreed on. */
  tls?: TlsConnectionFacts;
}

/** The facts of a TLS connection that the protocols above it use. */
export interface TlsConnectionFacts {
  protocol: "TLSv1.3";
  cipherSuite: string;
  /** The protocol chosen by ALPN ("http/1.1", "h2"), if the client offered any. */
  alpnProtocol: string | undefined;
  /** The client's SNI host name, lower case. */
  serverName: string | undefined;
}

export interface TCPSocket {
  readonly opened: Promise<TCPSocketOpenInfo>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface TCPServerSocketOptions {
  localPort?: number;
  backlog?: number;
  ipv6Only?: boolean;
}

export interface TCPServerSocketOpenInfo {
  /** Accepted connections, one `TCPSocket` per chunk. */
  readable: ReadableStream<TCPSocket>;
  localAddress: string;
  localPort: number;
}

export interface TCPServerSocket {
  readonly opened: Promise<TCPServerSocketOpenInfo>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export interface UDPSocketOptions {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  sendBufferSize?: number;
  receiveBufferSize?: number;
  dnsQueryType?: "ipv4" | "ipv6";
  ipv6Only?: boolean;
}

export interface UDPMessage {
  data: BufferSource;
  remoteAddress?: string;
  remotePort?: number;
  dnsQueryType?: "ipv4" | "ipv6";
}

export interface UDPSocketOpenInfo {
  readable: ReadableStream<UDPMessage>;
  writable: WritableStream<UDPMessage>;
  remoteAddress?: string;
  remotePort?: number;
  localAddress: string;
  localPort: number;
}

export interface UDPSocket {
  readonly opened: Promise<UDPSocketOpenInfo>;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** Options accepted by `listen()`: the server options plus those applied to every accepted socket. */
export interface ListenOptions extends TCPServerSocketOptions, Pick<TCPSocketOptions, "noDelay" | "keepAliveDelay"> {
  /**
   * Milliseconds an accepted socket, closed by us, waits for the peer's FIN (reading and discarding what it still
   * sends, up to 1 MiB) before it ends the connection. In Chromium releasing a socket discards unsent bytes, so a
   * peer that may have stopped reading is waited for (one that keeps reading, however slowly, is released once
   * Chromium's pipe had time to drain: docs/chromium-direct-sockets.md; default 5000). On Node a
   * socket destroyed with unread data sends a reset, which can make the peer drop the last response unread
   * (RFC 9112 §9.6; default 2000).
   */
  lingerMs?: number;
}

/** What an adapter module exports: a factory with the `new TCPServerSocket(localAddress, options)` signature. */
export type ServerSocketFactory = (localAddress: string, options: ListenOptions) => TCPServerSocket;

declare global {
  // Present only inside an Isolated Web App with the direct-sockets permission.
  var TCPServerSocket: { new (localAddress: string, options?: TCPServerSocketOptions): TCPServerSocket } | undefined;
  var TCPSocket: { new (remoteAddress: string, remotePort: number, options?: TCPSocketOptions): TCPSocket } | undefined;
  var UDPSocket: { new (options: UDPSocketOptions): UDPSocket } | undefined;
}
