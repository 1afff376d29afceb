import * as net from "node:net";
import { once } from "node:events";
import type { ListenOptions, TCPServerSocket, TCPServerSocketOpenInfo, TCPSocket, TCPSocketOpenInfo } from "./types.js";

/** Bytes the readable side buffers before it pauses the socket. */
const READ_HIGH_WATER_MARK = 64 * 1024;

/** Wraps an accepted node:net socket (made with `allowHalfOpen`) as a Direct Sockets `TCPSocket`. */
export function wrapNodeSocket(socket: net.Socket): TCPSocket {
  // 'close' comes once both directions are done (node's autoDestroy) or on destroy; an error precedes it.
  let failure: Error | undefined;
  socket.on("error", (error) => (failure = error));
  const closed = new Promise<void>((resolve, reject) => {
    socket.once("close", () => (failure ? reject(failure) : resolve()));
  });
  // `closed` may reject (a reset); nobody is obliged to watch it, so it must never be an unhandled rejection.
  closed.catch(() => {});
  let readDone = false;
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        socket.on("data", (chunk: Buffer) => {
          if (readDone) return;
          // A plain view, not a Buffer: consumers rely on Uint8Array semantics only.
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) socket.pause();
        });
        const end = () => {
          if (readDone) return;
          readDone = true;
          controller.close();
        };
        socket.on("end", end);
        socket.on("close", () => {
          // A destroy (ours or a reset) ends the readable too, or its reader would wait forever.
          if (failure) controller.error(failure);
          else end();
          readDone = true;
        });
        socket.pause();
      },
      pull() {
        socket.resume();
      },
      cancel() {
        // As in Chromium, the socket closes once both directions are finished.
        readDone = true;
        if (socket.writableFinished) socket.destroy();
        else socket.pause();
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
      if (readDone) socket.destroy();
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
  return {
    opened,
    closed,
    async close() {
      socket.destroy();
      await closed.catch(() => {});
    },
  };
}

/** `new TCPServerSocket(localAddress, options)` on node:net. */
export function createServerSocket(localAddress: string, options: ListenOptions = {}): TCPServerSocket {
  const server = net.createServer({
    noDelay: options.noDelay ?? true,
    pauseOnConnect: true,
    // A peer's FIN ends only our readable; our side ends when the writable is closed.
    allowHalfOpen: true,
  });
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
    server.listen({ host: localAddress, port: options.localPort ?? 0, backlog: options.backlog, ipv6Only: options.ipv6Only }, () => {
      server.off("error", reject);
      server.on("error", (error) => acceptController.error(error));
      const address = server.address() as net.AddressInfo;
      resolve({ readable, localAddress: address.address, localPort: address.port });
    });
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
