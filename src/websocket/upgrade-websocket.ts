/** Deno's `upgradeWebSocket(request)`: a WebSocket-like object for the server side of one connection. */

import { ReadyState, WebSocketConnection, type ConnectionEvents } from "./connection.js";
import { acceptHandshake, upgradeResponse, type AcceptedHandshake } from "./handshake.js";
import { connectionSettings, type WebSocketSettings } from "./handler.js";
import type { BinaryData } from "./frames.js";

export interface UpgradeWebSocketOptions extends Omit<WebSocketSettings, "protocols" | "publishToSelf"> {
  /** The subprotocol to answer with; it must be one the client offered. */
  protocol?: string;
}

type Listener<E extends Event> = ((this: UpgradedWebSocket, event: E) => void) | null;

/** Node 20 has no `CloseEvent`; this carries the same fields. */
export class WebSocketCloseEvent extends Event {
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly wasClean: boolean,
  ) {
    super("close");
  }
}

export class WebSocketErrorEvent extends Event {
  constructor(readonly error: unknown) {
    super("error");
    this.message = error instanceof Error ? error.message : String(error);
  }
  readonly message: string;
}

/** The server end of a WebSocket with the browser `WebSocket` interface. */
export class UpgradedWebSocket extends EventTarget {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;

  onopen: Listener<Event> = null;
  onmessage: Listener<MessageEvent> = null;
  onclose: Listener<WebSocketCloseEvent> = null;
  onerror: Listener<WebSocketErrorEvent> = null;
  binaryType: "arraybuffer" | "blob" = "arraybuffer";

  constructor(
    private readonly connection: WebSocketConnection,
    readonly url: string,
    readonly protocol: string,
    readonly extensions: string,
  ) {
    super();
  }

  get readyState(): number {
    return this.connection.readyState;
  }

  get bufferedAmount(): number {
    return this.connection.bufferedAmount;
  }

  send(data: string | BinaryData | Blob): void {
    if (this.readyState === ReadyState.CONNECTING) throw new DOMException("the WebSocket is not open yet", "InvalidStateError");
    if (data instanceof Blob) {
      this.connection.sendLater(
        data.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
        data.size,
      );
      return;
    }
    this.connection.send(data);
  }

  close(code?: number, reason?: string): void {
    this.connection.close(code, reason);
  }

  /** Delivers an event to its `on…` property and its listeners. */
  emit(event: Event): void {
    const property = (this as unknown as Record<string, unknown>)[`on${event.type}`];
    if (typeof property === "function") property.call(this, event);
    this.dispatchEvent(event);
  }
}

/**
 * The handshake and connection of a single upgrade outside a hub (the Deno and stream styles).
 * Throws a TypeError when the request is not a valid WebSocket upgrade.
 */
export function upgradeConnection(
  request: Request,
  options: UpgradeWebSocketOptions,
  events: ConnectionEvents,
): { connection: WebSocketConnection; response: Response; handshake: AcceptedHandshake } {
  const headers = options.protocol ? { "sec-websocket-protocol": options.protocol } : undefined;
  const handshake = acceptHandshake(request, options, headers);
  if (!handshake.ok) throw new TypeError(`not a valid WebSocket upgrade: ${handshake.message}`);
  const connection = new WebSocketConnection({ ...connectionSettings(options), deflate: handshake.deflate }, events);
  const response = upgradeResponse(
    handshake,
    (upgraded) => connection.attach(upgraded),
    (reason) => connection.abandon(reason),
  );
  return { connection, response, handshake };
}

/**
 * Validates a WebSocket upgrade request and returns the 101 response to answer it with, plus the socket.
 * The response's `sec-websocket-accept` header is missing at first: it is filled in (from an asynchronous
 * SHA-1 digest) before the server writes the response.
 * Throws a TypeError when the request is not a valid WebSocket upgrade.
 */
export function upgradeWebSocket(
  request: Request,
  options: UpgradeWebSocketOptions = {},
): { socket: UpgradedWebSocket; response: Response } {
  let socket!: UpgradedWebSocket;
  const { connection, response, handshake } = upgradeConnection(request, options, {
    open: () => socket.emit(new Event("open")),
    message: (data) => {
      const payload =
        typeof data === "string"
          ? data
          : socket.binaryType === "blob"
            ? new Blob([data as Uint8Array<ArrayBuffer>])
            : (data.buffer as ArrayBuffer).slice(data.byteOffset, data.byteOffset + data.byteLength);
      socket.emit(new MessageEvent("message", { data: payload }));
    },
    close: (code, reason, wasClean) => socket.emit(new WebSocketCloseEvent(code, reason, wasClean)),
    drain: () => {},
    error: (error) => socket.emit(new WebSocketErrorEvent(error)),
  });
  socket = new UpgradedWebSocket(connection, request.url.replace(/^http/, "ws"), handshake.protocol, handshake.extensions);
  return { socket, response };
}
