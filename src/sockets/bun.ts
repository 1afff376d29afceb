import type { ListenOptions, TCPServerSocket, TCPServerSocketOpenInfo, TCPSocket, TCPSocketOpenInfo } from "./types.js";

/** The slice of Bun's socket API this adapter uses (our tsc has no Bun types). */
interface BunSocket {
  /** Ours: the connection state, set when the socket opens. */
  data: BunConnection | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Bytes the kernel took, possibly fewer than given (Bun keeps no copy of the rest); negative once closed. */
  write(bytes: Uint8Array): number;
  /** `shutdown()` with no argument sends our FIN and keeps reading. */
  shutdown(): void;
  /** Closes the whole connection. */
  end(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay: boolean): boolean;
  setKeepAlive(enable: boolean, initialDelayMs: number): boolean;
}

interface BunSocketHandler {
  open(socket: BunSocket): void;
  /** `bytes` is Bun's to reuse once the call returns. */
  data(socket: BunSocket, bytes: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunListener {
  readonly hostname: string;
  readonly port: number;
  /** `false`: stop accepting, keep the open connections. */
  stop(closeActiveConnections: boolean): void;
}

interface BunNet {
  listen(options: { hostname: string; port: number; allowHalfOpen: boolean; socket: BunSocketHandler }): BunListener;
}

declare const Bun: BunNet;

/** Bytes the readable side queues before it pauses the socket. */
const READ_HIGH_WATER_MARK = 64 * 1024;

/**
 * One accepted Bun socket as a Direct Sockets `TCPSocket`. Bun reports events to the listener's
 * handler, which forwards them here through `socket.data`.
 */
class BunConnection {
  readonly socket: TCPSocket;
  private readController!: ReadableStreamDefaultController<Uint8Array>;
  private readDone = false;
  private writeDone = false;
  private released = false;
  private paused = false;
  /** The unsent tail of the chunk being written (at most one chunk: the writable serialises writes). */
  private unsent: Uint8Array | null = null;
  private unsentSettled: { resolve: () => void; reject: (error: unknown) => void } | null = null;
  private lastError: Error | undefined;
  private settleClosed!: { resolve: () => void; reject: (error: unknown) => void };

  constructor(private readonly raw: BunSocket) {
    const closed = new Promise<void>((resolve, reject) => (this.settleClosed = { resolve, reject }));
    // `closed` may reject (a reset); nobody is obliged to watch it, so it must never be an unhandled rejection.
    closed.catch(() => {});
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.readController = controller;
        },
        pull: () => {
          if (this.paused && !this.released) {
            this.paused = false;
            raw.resume();
          }
        },
        cancel: () => {
          this.readDone = true;
          // Unread bytes then stay in the kernel, which holds the peer back, as a full queue would.
          if (!this.paused && !this.released) {
            this.paused = true;
            raw.pause();
          }
          this.closeIfBothDone();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: READ_HIGH_WATER_MARK }),
    );
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => {
        if (this.writeDone) return;
        this.writeDone = true;
        // Every byte is with the kernel (a write resolves only then), so the FIN goes out after them.
        if (!this.released) raw.shutdown();
        this.closeIfBothDone();
      },
      abort: () => this.closeNow(),
    });
    const opened: Promise<TCPSocketOpenInfo> = Promise.resolve({
      readable,
      writable,
      remoteAddress: raw.remoteAddress,
      remotePort: raw.remotePort,
      localAddress: raw.localAddress,
      localPort: raw.localPort,
    });
    this.socket = {
      opened,
      closed,
      close: async () => {
        this.closeNow();
        await closed.catch(() => {});
      },
    };
  }

  onData(bytes: Uint8Array): void {
    if (this.readDone) return;
    this.readController.enqueue(new Uint8Array(bytes)); // a copy: `bytes` may be reused after this call
    if ((this.readController.desiredSize ?? 0) <= 0 && !this.paused) {
      this.paused = true;
      this.raw.pause();
    }
  }

  onEnd(): void {
    this.endReadable();
    this.closeIfBothDone();
  }

  onDrain(): void {
    if (this.unsent === null) return;
    const written = this.raw.write(this.unsent);
    if (written < 0) return; // closing: onClose rejects the write
    if (written < this.unsent.byteLength) {
      this.unsent = this.unsent.subarray(written);
      return;
    }
    this.unsent = null;
    this.unsentSettled?.resolve();
    this.unsentSettled = null;
  }

  onError(error: Error): void {
    this.lastError = error;
  }

  onClose(error?: Error): void {
    if (this.released) return;
    this.released = true;
    const failure = error ?? this.lastError;
    if (failure) this.readController.error(failure);
    else this.endReadable();
    this.readDone = this.writeDone = true;
    this.unsent = null;
    this.unsentSettled?.reject(failure ?? new Error("socket closed while writing"));
    this.unsentSettled = null;
    if (failure) this.settleClosed.reject(failure);
    else this.settleClosed.resolve();
  }

  private write(chunk: Uint8Array): Promise<void> | void {
    if (this.writeDone || this.released) throw new Error("socket is closed");
    const written = this.raw.write(chunk);
    if (written < 0) throw new Error("socket is closed");
    if (written === chunk.byteLength) return;
    // The kernel is full: keep the rest (a view; the producer waits for this promise) until `drain`.
    this.unsent = chunk.subarray(written);
    return new Promise((resolve, reject) => (this.unsentSettled = { resolve, reject }));
  }

  private endReadable(): void {
    if (this.readDone) return;
    this.readDone = true;
    try {
      this.readController.close();
    } catch {
      // already errored
    }
  }

  // As in Chromium, the socket closes itself once both directions are finished.
  private closeIfBothDone(): void {
    if (this.readDone && this.writeDone) this.closeNow();
  }

  private closeNow(): void {
    if (this.released) return;
    this.raw.end(); // Bun then calls the `close` handler, which settles everything
  }
}

/** `new TCPServerSocket(localAddress, options)` on `Bun.listen`. */
export function createServerSocket(localAddress: string, options: ListenOptions = {}): TCPServerSocket {
  let acceptController!: ReadableStreamDefaultController<TCPSocket>;
  let listener: BunListener | undefined;
  let stopped = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const stopAccepting = () => {
    if (stopped) return;
    stopped = true;
    listener?.stop(false);
    try {
      acceptController.close();
    } catch {
      // cancelled by the consumer
    }
    markClosed();
  };
  // Bun cannot pause accepting, so accepted sockets queue here until the consumer takes them.
  const readable = new ReadableStream<TCPSocket>({
    start(controller) {
      acceptController = controller;
    },
    cancel() {
      stopAccepting();
    },
  });
  const handler: BunSocketHandler = {
    open(socket) {
      if (stopped) {
        socket.end();
        return;
      }
      socket.setNoDelay(options.noDelay ?? true);
      if (options.keepAliveDelay !== undefined) socket.setKeepAlive(true, options.keepAliveDelay);
      const connection = new BunConnection(socket);
      socket.data = connection;
      acceptController.enqueue(connection.socket);
    },
    data: (socket, bytes) => socket.data?.onData(bytes),
    drain: (socket) => socket.data?.onDrain(),
    end: (socket) => socket.data?.onEnd(),
    close: (socket, error) => socket.data?.onClose(error),
    error: (socket, error) => socket.data?.onError(error),
  };
  const opened = new Promise<TCPServerSocketOpenInfo>((resolve) => {
    // Bun.listen takes no backlog option: the kernel default applies.
    listener = Bun.listen({
      hostname: localAddress,
      port: options.localPort ?? 0,
      allowHalfOpen: true,
      socket: handler,
    });
    resolve({ readable, localAddress: listener.hostname, localPort: listener.port });
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
