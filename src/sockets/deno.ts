import type { ListenOptions, TCPServerSocket, TCPServerSocketOpenInfo, TCPSocket, TCPSocketOpenInfo } from "./types.js";

/** The slice of the `Deno` namespace this adapter uses (our tsc has no Deno types). */
interface DenoNetAddr {
  hostname: string;
  port: number;
}

interface DenoTcpConn {
  readonly localAddr: DenoNetAddr;
  readonly remoteAddr: DenoNetAddr;
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(noDelay?: boolean): void;
  setKeepAlive(keepAlive?: boolean): void;
}

interface DenoTcpListener {
  readonly addr: DenoNetAddr;
  accept(): Promise<DenoTcpConn>;
  close(): void;
}

interface DenoNet {
  listen(options: { transport: "tcp"; hostname: string; port: number; tcpBacklog?: number }): DenoTcpListener;
}

declare const Deno: DenoNet;

/** Bytes asked of the socket per read; also the readable side's high-water mark. */
const READ_CHUNK_SIZE = 64 * 1024;

/** Wraps an accepted `Deno.TcpConn` as a Direct Sockets `TCPSocket`. */
export function wrapDenoConn(conn: DenoTcpConn): TCPSocket {
  let readDone = false;
  let writeDone = false;
  let released = false;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const closed = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // `closed` may reject (a reset); nobody is obliged to watch it, so it must never be an unhandled rejection.
  closed.catch(() => {});

  /** Frees the connection once; an error makes `closed` reject with it. */
  const release = (error?: unknown) => {
    if (released) return;
    released = true;
    readDone = writeDone = true;
    try {
      conn.close();
    } catch {
      // already closed by the runtime
    }
    if (error === undefined) settle.resolve();
    else settle.reject(error);
  };
  // As in Chromium, the socket closes itself once both directions are finished.
  const releaseIfBothDone = () => {
    if (readDone && writeDone) release();
  };

  // Reads happen only on pull, i.e. while the queue is below its mark: a slow consumer leaves the
  // bytes in the kernel, whose full receive window then stops the peer.
  let buffer = new Uint8Array(READ_CHUNK_SIZE);
  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let count: number | null;
        try {
          count = await conn.read(buffer);
        } catch (error) {
          if (released) controller.close();
          else {
            controller.error(error);
            release(error);
          }
          return;
        }
        if (readDone) return; // cancelled or closed while the read was pending
        if (count === null) {
          readDone = true;
          controller.close();
          releaseIfBothDone();
          return;
        }
        // Consumers keep views of the chunks they get, so a buffer is handed over, never reused; a small
        // read is copied out instead, so that it does not pin a whole buffer.
        if (count >= READ_CHUNK_SIZE / 4) {
          controller.enqueue(buffer.subarray(0, count));
          buffer = new Uint8Array(READ_CHUNK_SIZE);
        } else if (count > 0) {
          controller.enqueue(buffer.slice(0, count));
        }
      },
      cancel() {
        readDone = true;
        releaseIfBothDone();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: READ_CHUNK_SIZE }),
  );

  // Each write resolves only once the runtime has handed every byte to the kernel: a full send
  // buffer keeps it pending, which is the writer's backpressure.
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (writeDone) throw new Error("socket is closed");
      try {
        for (let offset = 0; offset < chunk.byteLength; ) offset += await conn.write(chunk.subarray(offset));
      } catch (error) {
        release(error);
        throw error;
      }
    },
    async close() {
      if (writeDone) return;
      try {
        await conn.closeWrite();
      } catch (error) {
        release(error);
        throw error;
      }
      writeDone = true;
      releaseIfBothDone();
    },
    abort() {
      release();
    },
  });

  const opened: Promise<TCPSocketOpenInfo> = Promise.resolve({
    readable,
    writable,
    remoteAddress: conn.remoteAddr.hostname,
    remotePort: conn.remoteAddr.port,
    localAddress: conn.localAddr.hostname,
    localPort: conn.localAddr.port,
  });
  return {
    opened,
    closed,
    async close() {
      release();
      await closed.catch(() => {});
    },
  };
}

/** `new TCPServerSocket(localAddress, options)` on `Deno.listen`. */
export function createServerSocket(localAddress: string, options: ListenOptions = {}): TCPServerSocket {
  let listener: DenoTcpListener | undefined;
  let pendingAccept: Promise<unknown> = Promise.resolve();
  let stopped = false;
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const stopAccepting = () => {
    if (stopped) return;
    stopped = true;
    listener?.close();
    // Deno releases the listening socket only once a pending accept has failed; until then it still accepts.
    void pendingAccept.then(markClosed, markClosed);
  };

  const opened = new Promise<TCPServerSocketOpenInfo>((resolve) => {
    const listening = Deno.listen({
      transport: "tcp",
      hostname: localAddress,
      port: options.localPort ?? 0,
      tcpBacklog: options.backlog,
    });
    listener = listening;
    // Connections are accepted only when the consumer asks for one; the rest wait in the kernel backlog.
    const readable = new ReadableStream<TCPSocket>(
      {
        async pull(controller) {
          let conn: DenoTcpConn;
          try {
            const accepting = listening.accept();
            pendingAccept = accepting;
            conn = await accepting;
          } catch (error) {
            if (stopped) controller.close();
            else {
              controller.error(error);
              stopAccepting();
            }
            return;
          }
          if (stopped) {
            conn.close();
            return;
          }
          try {
            conn.setNoDelay(options.noDelay ?? true);
            if (options.keepAliveDelay !== undefined) conn.setKeepAlive(true); // Deno has no delay setting
          } catch {
            // the peer is already gone; its reads will say so
          }
          controller.enqueue(wrapDenoConn(conn));
        },
        cancel() {
          stopAccepting();
        },
      },
      { highWaterMark: 0 },
    );
    resolve({ readable, localAddress: listening.addr.hostname, localPort: listening.addr.port });
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
