/**
 * A TLS server socket in the Direct Sockets shape: an accepted `TCPSocket` whose `opened` resolves once the TLS 1.3
 * handshake is done, with the plaintext reader and writer as its direct IO and the session's facts in `tls`.
 */

import { directIoOpenInfo, socketIo, streamsOverIo } from "../sockets/direct-io.js";
import type { TCPSocket, TCPSocketOpenInfo } from "../sockets/types.js";
import { TlsServerConnection, type TlsServerOptions } from "./server-connection.js";

export interface TlsSocketOptions extends TlsServerOptions {
  /** Milliseconds a client gets to complete the handshake (default 10 000). */
  handshakeTimeout?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

export function tlsSocket(socket: TCPSocket, options: TlsSocketOptions): TCPSocket {
  const opened = (async (): Promise<TCPSocketOpenInfo> => {
    const raw = await socket.opened;
    const connection = new TlsServerConnection(socketIo(raw), options);
    const timer = setTimeout(() => {
      const reason = new Error("TLS handshake timed out");
      void connection.reader.cancel(reason).catch(() => {});
      void connection.writer.abort(reason).catch(() => {});
    }, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
    try {
      const session = await connection.handshake();
      // Field by field: reading `readable`/`writable` would take the socket a second time.
      const { remoteAddress, remotePort, localAddress, localPort } = raw;
      return directIoOpenInfo(
        {
          remoteAddress,
          remotePort,
          localAddress,
          localPort,
          tls: {
            protocol: session.protocol,
            cipherSuite: session.cipherSuite,
            alpnProtocol: session.alpnProtocol,
            serverName: session.serverName,
          },
        },
        connection,
        () => streamsOverIo(connection),
      );
    } finally {
      clearTimeout(timer);
    }
  })();
  opened.catch(() => {});
  return { opened, closed: socket.closed, close: () => socket.close() };
}
