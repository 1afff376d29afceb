import type { TCPSocketOpenInfo } from "./types.js";

/** What the protocols use of a socket's stream reader: any `ReadableStreamDefaultReader<Uint8Array>` is one. */
export interface ByteReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * What the protocols use of a socket's stream writer: any `WritableStreamDefaultWriter<Uint8Array>` is one. A write
 * resolves when there is room for more; the chunk may still be queued then, so it must not be changed afterwards.
 */
export interface ByteWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/**
 * Not part of Direct Sockets: this project's adapters also offer a reader and writer on the runtime's socket
 * without the two stream objects in between (each stream operation costs several promises, as much as the HTTP
 * work of a small request). Calling it takes the socket over; `readable` and `writable` must then stay unused.
 */
export const DIRECT_IO: unique symbol = Symbol.for("browser-httpd.direct-io");

export interface DirectIo {
  reader: ByteReader;
  writer: ByteWriter;
}

/** A reader and writer for `opened`: the adapter's direct ones when it has them, else the streams'. */
export function socketIo(opened: TCPSocketOpenInfo): DirectIo {
  return opened[DIRECT_IO]?.() ?? { reader: opened.readable.getReader(), writer: opened.writable.getWriter() };
}

type SocketStreams = Pick<TCPSocketOpenInfo, "readable" | "writable">;
type Addresses = Omit<TCPSocketOpenInfo, "readable" | "writable" | typeof DIRECT_IO>;

/**
 * The open info of an adapter whose streams are built on its direct reader and writer: the streams are made on first
 * use (a server using the direct pair never pays for them), and either they or the direct pair take the socket.
 */
export function directIoOpenInfo(addresses: Addresses, direct: DirectIo, makeStreams: () => SocketStreams): TCPSocketOpenInfo {
  return new DirectIoOpenInfo(addresses, direct, makeStreams);
}

/**
 * A class rather than an object literal: its accessors and methods live on the prototype, so a connection costs one
 * plain object instead of a literal with accessors and four closures (a measurable part of a short connection).
 */
class DirectIoOpenInfo implements TCPSocketOpenInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: TCPSocketOpenInfo["tls"];
  readonly #direct: DirectIo;
  readonly #makeStreams: () => SocketStreams;
  #streams: SocketStreams | undefined;
  #taken: "streams" | "direct" | undefined;

  constructor(addresses: Addresses, direct: DirectIo, makeStreams: () => SocketStreams) {
    this.remoteAddress = addresses.remoteAddress;
    this.remotePort = addresses.remotePort;
    this.localAddress = addresses.localAddress;
    this.localPort = addresses.localPort;
    this.tls = addresses.tls;
    this.#direct = direct;
    this.#makeStreams = makeStreams;
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.#socketStreams().readable;
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#socketStreams().writable;
  }

  [DIRECT_IO](): DirectIo {
    this.#take("direct");
    return this.#direct;
  }

  #socketStreams(): SocketStreams {
    this.#take("streams");
    return (this.#streams ??= this.#makeStreams());
  }

  #take(how: "streams" | "direct"): void {
    if (this.#taken && this.#taken !== how) throw new TypeError("a socket's streams and its direct reader and writer cannot both be used");
    this.#taken = how;
  }
}

/** Stream objects over a direct reader and writer, for consumers that want the Direct Sockets streams. */
export function streamsOverIo(io: DirectIo): SocketStreams {
  return {
    readable: new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          const { value, done } = await io.reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: (reason) => io.reader.cancel(reason),
      },
      { highWaterMark: 0 },
    ),
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => io.writer.write(chunk),
      close: () => io.writer.close(),
      abort: (reason) => io.writer.abort(reason),
    }),
  };
}
