import * as net from "node:net";
import { once } from "node:events";
import { type ByteReader, type ByteWriter, directIoOpenInfo, streamsOverIo } from "./direct-io.js";
import type { ListenOptions, TCPServerSocket, TCPServerSocketOpenInfo, TCPSocket } from "./types.js";

/** Bytes the readable side buffers before it pauses the socket. */
const READ_HIGH_WATER_MARK = 64 * 1024;

const RESOLVED = Promise.resolve();
/**
 * Once our side is closed and reading is over, what the peer still sends is read and discarded until its FIN, for
 * at most this long and LINGER_DISCARD_LIMIT bytes: destroying a socket with unread data sends a reset, and a reset
 * can make the peer drop our last response unread (RFC 9112 §9.6, the lingering close).
 */
const DEFAULT_LINGER_MS = 2_000;
const LINGER_DISCARD_LIMIT = 1024 * 1024;

/**
 * The reader and writer of one node:net socket (made with `allowHalfOpen`), straight on its events: the direct IO
 * of this adapter, and what its streams are built on.
 */
class NodeSocketIo implements ByteReader, ByteWriter {
  readonly #socket: net.Socket;
  readonly #closed: Promise<void>;
  #failure: Error | undefined;
  /** Chunks received and not yet read; the socket is paused while they add up to READ_HIGH_WATER_MARK. */
  #received: Uint8Array[] = [];
  #receivedBytes = 0;
  /** The peer's FIN was read, the reader was cancelled or the socket is gone. */
  #readDone = false;
  #writeClosed = false;
  #peerEnded = false;
  #discarded = 0;
  #lingering: Promise<void> | undefined;
  readonly #lingerMs: number;
  #pendingRead: { resolve(result: ReadableStreamReadResult<Uint8Array>): void; reject(error: unknown): void } | undefined;

  constructor(socket: net.Socket, lingerMs: number) {
    this.#socket = socket;
    this.#lingerMs = lingerMs;
    // 'close' comes once both directions are done (node's autoDestroy) or on destroy; an error precedes it.
    socket.on("error", (error) => (this.#failure = error));
    this.#closed = new Promise<void>((resolve, reject) => {
      socket.once("close", () => (this.#failure ? reject(this.#failure) : resolve()));
    });
    // `closed` may reject (a reset); nobody is obliged to watch it, so it must never be an unhandled rejection.
    this.#closed.catch(() => {});
    socket.on("data", (chunk: Buffer) => {
      if (this.#readDone) {
        this.#discarded += chunk.byteLength;
        if (this.#lingering && this.#discarded > LINGER_DISCARD_LIMIT) socket.destroy();
        return;
      }
      // A plain view, not a Buffer: consumers rely on Uint8Array semantics only.
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const pending = this.#pendingRead;
      if (pending) {
        this.#pendingRead = undefined;
        pending.resolve({ value: bytes, done: false });
        return;
      }
      this.#received.push(bytes);
      this.#receivedBytes += bytes.byteLength;
      if (this.#receivedBytes >= READ_HIGH_WATER_MARK) socket.pause();
    });
    socket.on("end", () => {
      this.#peerEnded = true;
      this.#endReading();
    });
    // A destroy (ours or a reset) ends reading too, or a pending read would wait forever.
    socket.on("close", () => this.#endReading());
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const next = this.#received.shift();
    if (next) {
      this.#receivedBytes -= next.byteLength;
      return Promise.resolve({ value: next, done: false });
    }
    if (this.#socket.destroyed && this.#failure) return Promise.reject(this.#failure);
    if (this.#readDone) return Promise.resolve({ value: undefined, done: true });
    if (this.#pendingRead) return Promise.reject(new TypeError("a read is already pending on this socket"));
    this.#socket.resume();
    return new Promise((resolve, reject) => (this.#pendingRead = { resolve, reject }));
  }

  cancel(): Promise<void> {
    // As in Chromium, the socket closes once both directions are finished.
    this.#received = [];
    this.#receivedBytes = 0;
    this.#endReading();
    if (this.#socket.writableFinished) void this.linger();
    else this.#socket.pause();
    return RESOLVED;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#writeClosed || this.#socket.destroyed) return Promise.reject(new Error("socket is closed"));
    if (this.#socket.write(chunk)) return RESOLVED;
    return Promise.race([
      once(this.#socket, "drain").then(() => {}),
      this.#closed.then(() => Promise.reject(new Error("socket closed while writing"))),
    ]);
  }

  async close(): Promise<void> {
    this.#writeClosed = true;
    if (this.#socket.destroyed) return;
    this.#socket.end();
    await Promise.race([once(this.#socket, "finish"), this.#closed]);
    if (this.#readDone) void this.linger();
  }

  /**
   * Ends the connection once both directions are done, after the lingering close while the peer still sends; it
   * goes on in the background (`closed` settles at its end), as in the browser's wrapper.
   */
  linger(): Promise<void> {
    this.#lingering ??= (async () => {
      if (!this.#peerEnded && !this.#socket.destroyed) {
        this.#socket.resume();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const peerDone = new Promise<void>((resolve) => {
          this.#socket.once("end", resolve);
          timer = setTimeout(resolve, this.#lingerMs);
          // A lingering peer must not keep the process alive.
          timer.unref?.();
        });
        await Promise.race([peerDone, this.#closed.catch(() => {})]);
        clearTimeout(timer);
      }
      this.#socket.destroy();
    })();
    return this.#lingering;
  }

  get writeClosed(): boolean {
    return this.#writeClosed;
  }

  abort(): Promise<void> {
    this.#writeClosed = true;
    this.#socket.destroy();
    return RESOLVED;
  }

  #endReading(): void {
    this.#readDone = true;
    const pending = this.#pendingRead;
    if (!pending) return;
    this.#pendingRead = undefined;
    if (this.#failure && this.#socket.destroyed) pending.reject(this.#failure);
    else pending.resolve({ value: undefined, done: true });
  }
}

/** Wraps an accepted node:net socket (made with `allowHalfOpen`) as a Direct Sockets `TCPSocket`. */
export function wrapNodeSocket(socket: net.Socket, lingerMs = DEFAULT_LINGER_MS): TCPSocket {
  const io = new NodeSocketIo(socket, lingerMs);
  const direct = { reader: io, writer: io };
  const addresses = {
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
  };
  const opened = Promise.resolve(directIoOpenInfo(addresses, direct, () => streamsOverIo(direct)));
  return {
    opened,
    closed: io.closed,
    // After a graceful close of the writer it resolves at once and the lingering close goes on (`closed` settles
    // at its end); otherwise the connection ends at once.
    async close() {
      if (io.writeClosed) {
        void io.linger();
        return;
      }
      socket.destroy();
      await io.closed.catch(() => {});
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
    acceptController.enqueue(wrapNodeSocket(socket, options.lingerMs));
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
