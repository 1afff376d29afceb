import * as net from "node:net";
import { once } from "node:events";
import type { ListenOptions, TCPServerSocket, TCPServerSocketOpenInfo, TCPSocket, TCPSocketOpenInfo } from "./types.js";

/** Bytes the readable side buffers before it pauses the socket. */
const READ_HIGH_WATER_MARK = 64 * 1024;

/** Wraps an accepted node:net socket as a Direct Sockets `TCPSocket`. */
export function wrapNodeSocket(socket: net.Socket): TCPSocket {
  const closed = once(socket, "close").then(() => undefined);
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        socket.on("data", (chunk: Buffer) => {
          // A plain view, not a Buffer: consumers rely on Uint8Array semantics only.
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) socket.pause();
        });
        socket.on("end", () => {
          try {
            controller.close();
          } catch {
            // already closed or errored by cancel
          }
        });
        socket.on("error", (error) => {
          try {
            controller.error(error);
          } catch {
            // already closed
          }
        });
        socket.pause();
      },
      pull() {
        socket.resume();
      },
      cancel() {
        socket.destroy();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: READ_HIGH_WATER_MARK }),
  );
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (socket.destroyed) throw new Error("socket is closed");
      if (!socket.write(chunk)) {
        await Promise.race([once(socket, "drain"), closed.then(() => Promise.reject(new Error("socket closed while writing")))]);
      }
    },
    async close() {
      if (socket.destroyed) return;
      socket.end();
      await Promise.race([once(socket, "finish"), closed]);
    },
    abort() {
      socket.destroy();
    },
  });
  const opened: Promise<TCPSocketOpenInfo> = Promise.resolve({
    readable,
    writable,
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
  });
  // A peer reset must not become an unhandled 'error' event; the streams report it.
  socket.on("error", () => {});
  return {
    opened,
    closed,
    async close() {
      socket.destroy();
      await closed;
    },
  };
}

/** `new TCPServerSocket(localAddress, options)` on node:net. */
export function createServerSocket(localAddress: string, options: ListenOptions = {}): TCPServerSocket {
  const server = net.createServer({ noDelay: options.noDelay ?? true, pauseOnConnect: true });
  let acceptController!: ReadableStreamDefaultController<TCPSocket>;
  const readable = new ReadableStream<TCPSocket>({
    start(controller) {
      acceptController = controller;
    },
    cancel() {
      stopAccepting();
    },
  });
  server.on("connection", (socket) => {
    if (options.keepAliveDelay !== undefined) socket.setKeepAlive(true, options.keepAliveDelay);
    acceptController.enqueue(wrapNodeSocket(socket));
  });
  // The listener is closed once it stops accepting; node's own 'close' waits for every connection.
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const stopAccepting = () => {
    if (server.listening) server.close();
    try {
      acceptController.close();
    } catch {
      // cancelled by the consumer
    }
    markClosed();
  };
  const opened = new Promise<TCPServerSocketOpenInfo>((resolve, reject) => {
    server.once("error", reject);
    server.listen(
      { host: localAddress, port: options.localPort ?? 0, backlog: options.backlog, ipv6Only: options.ipv6Only },
      () => {
        server.off("error", reject);
        server.on("error", (error) => acceptController.error(error));
        const address = server.address() as net.AddressInfo;
        resolve({ readable, localAddress: address.address, localPort: address.port });
      },
    );
  });
  return {
    opened,
    closed,
    async close() {
      stopAccepting();
      await closed;
    },
  };
}
