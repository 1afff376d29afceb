/**
 * The server end of a WebSocket with the `WebSocketStream` interface: messages as a readable stream
 * (reading pauses when the consumer falls behind) and sends as a writable stream (writes wait while the
 * send queue is over its high-water mark).
 */

import type { BinaryData } from "./frames.js";
import { upgradeConnection, type UpgradeWebSocketOptions } from "./upgrade-websocket.js";

export interface WebSocketStreamOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | BinaryData>;
  protocol: string;
  extensions: string;
}

export interface WebSocketStreamCloseInfo {
  closeCode?: number;
  reason?: string;
}

export interface ServerWebSocketStream {
  readonly url: string;
  readonly opened: Promise<WebSocketStreamOpenInfo>;
  /** Resolves after a clean closing handshake; rejects when the connection ended abnormally. */
  readonly closed: Promise<{ closeCode: number; reason: string }>;
  close(info?: WebSocketStreamCloseInfo): void;
}

/** Messages buffered for the reader before reading from the peer pauses. */
const READABLE_HIGH_WATER_MARK = 16;

/**
 * Like `upgradeWebSocket`, with streams (and the same late `sec-websocket-accept` header); throws a TypeError
 * when the request is not a valid upgrade.
 */
export function upgradeWebSocketStream(
  request: Request,
  options: UpgradeWebSocketOptions = {},
): { stream: ServerWebSocketStream; response: Response } {
  let controller!: ReadableStreamDefaultController<string | Uint8Array>;
  let resolveOpened!: (info: WebSocketStreamOpenInfo) => void;
  let rejectOpened!: (error: Error) => void;
  let resolveClosed!: (info: { closeCode: number; reason: string }) => void;
  let rejectClosed!: (error: Error) => void;
  const opened = new Promise<WebSocketStreamOpenInfo>((resolve, reject) => ([resolveOpened, rejectOpened] = [resolve, reject]));
  const closed = new Promise<{ closeCode: number; reason: string }>(
    (resolve, reject) => ([resolveClosed, rejectClosed] = [resolve, reject]),
  );
  // Callers that only await `opened` must not see an unhandled rejection from `closed`, and vice versa.
  opened.catch(() => {});
  closed.catch(() => {});

  const { connection, response, handshake } = upgradeConnection(request, options, {
    open: () => resolveOpened({ readable, writable, protocol: handshake.protocol, extensions: handshake.extensions }),
    message: (data) => {
      controller.enqueue(data);
      if ((controller.desiredSize ?? 0) <= 0) connection.pause();
    },
    close: (code, reason, wasClean) => {
      const error = new Error(`WebSocket closed abnormally (code ${code})`);
      if (wasClean) {
        resolveClosed({ closeCode: code, reason });
        try {
          controller.close();
        } catch {
          // already closed or cancelled by the consumer
        }
      } else {
        rejectOpened(error);
        rejectClosed(error);
        try {
          controller.error(error);
        } catch {
          // already closed or cancelled by the consumer
        }
      }
    },
    drain: () => {},
    error: () => {},
  });

  const readable = new ReadableStream<string | Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      pull() {
        connection.resume();
      },
      cancel() {
        connection.close(1000);
      },
    },
    { highWaterMark: READABLE_HIGH_WATER_MARK },
  );
  const writable = new WritableStream<string | BinaryData>({
    async write(chunk) {
      if (connection.send(chunk) === 0) throw new Error("the WebSocket is closed");
      await connection.whenDrained();
    },
    close() {
      connection.close(1000);
    },
    abort() {
      connection.close(1000);
    },
  });

  const stream: ServerWebSocketStream = {
    url: request.url.replace(/^http/, "ws"),
    opened,
    closed,
    close(info = {}) {
      connection.close(info.closeCode ?? 1000, info.reason ?? "");
    },
  };
  return { stream, response };
}
