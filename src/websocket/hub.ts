/** The Bun-style server side: upgrades requests to `ServerWebSocket`s and routes pub/sub messages. */

import { recordUpgrade } from "../shared/upgrade.js";
import { WebSocketConnection, type ConnectionSettings } from "./connection.js";
import { deflateMessage } from "./deflate.js";
import { Opcode, ProtocolError, encodeFrame, encodeTextFrame, payloadOffset, toBytes, type BinaryData } from "./frames.js";
import { acceptHandshake, upgradeResponse } from "./handshake.js";
import { connectionSettings, type WebSocketHandler } from "./handler.js";
import { ServerWebSocket, type TopicRegistry } from "./server-websocket.js";

export interface UpgradeOptions<T> {
  /** Extra headers for the 101 response (`Sec-WebSocket-Protocol` here picks the subprotocol). */
  headers?: HeadersInit;
  /** Becomes `ws.data`. */
  data?: T;
}

export class WebSocketHub<T = undefined> implements TopicRegistry {
  private readonly settings: Omit<ConnectionSettings, "deflate">;
  private readonly peers = new Set<ServerWebSocket<T>>();
  private readonly topics = new Map<string, Set<ServerWebSocket<unknown>>>();

  constructor(private readonly handler: WebSocketHandler<T>) {
    this.settings = connectionSettings(handler);
  }

  /** Open WebSocket connections. */
  get peerCount(): number {
    return this.peers.size;
  }

  subscriberCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }

  /**
   * Accepts a WebSocket handshake: the handler may then return nothing (the server answers 101).
   * False when the request is not a valid WebSocket upgrade (answer it yourself, e.g. with 400).
   */
  upgrade(request: Request, options: UpgradeOptions<T> = {}): boolean {
    const handshake = acceptHandshake(request, this.handler, options.headers);
    if (!handshake.ok) return false;
    const handler = this.handler;
    let ws!: ServerWebSocket<T>;
    const connection = new WebSocketConnection(
      { ...this.settings, deflate: handshake.deflate },
      {
        open: () => handler.open?.(ws),
        message: (data) => handler.message(ws, data),
        close: (code, reason) => {
          this.peers.delete(ws);
          for (const topic of ws.topics) this.unsubscribe(ws as ServerWebSocket<unknown>, topic);
          ws.topics.clear();
          handler.close?.(ws, code, reason);
        },
        drain: () => handler.drain?.(ws),
        error: (error) => {
          if (handler.error) handler.error(ws, error);
          else if (!(error instanceof ProtocolError)) console.error("browser-httpd: websocket handler failed:", error);
        },
        ping: handler.ping && ((payload) => handler.ping!(ws, payload)),
        pong: handler.pong && ((payload) => handler.pong!(ws, payload)),
      },
    );
    ws = new ServerWebSocket(connection, this, options.data as T, handshake.protocol, handshake.extensions, handler.publishToSelf ?? false);
    const response = upgradeResponse(handshake, (upgraded) => {
      this.peers.add(ws);
      connection.attach(upgraded);
    });
    recordUpgrade(request, response);
    return true;
  }

  subscribe(ws: ServerWebSocket<unknown>, topic: string): void {
    let subscribers = this.topics.get(topic);
    if (!subscribers) this.topics.set(topic, (subscribers = new Set()));
    subscribers.add(ws);
  }

  unsubscribe(ws: ServerWebSocket<unknown>, topic: string): void {
    const subscribers = this.topics.get(topic);
    if (!subscribers) return;
    subscribers.delete(ws);
    if (subscribers.size === 0) this.topics.delete(topic);
  }

  /**
   * Sends a message to every subscriber of `topic`, encoding (and compressing) it once for all.
   * Returns the message's byte length when at least one subscriber took it, else 0.
   */
  publish(topic: string, data: string | BinaryData, compress = true, except?: ServerWebSocket<unknown>): number {
    const subscribers = this.topics.get(topic);
    if (!subscribers || subscribers.size === 0) return 0;
    let plain: Uint8Array;
    let bytes: Uint8Array | undefined;
    let size: number;
    let opcode: number;
    if (typeof data === "string") {
      plain = encodeTextFrame(data);
      size = plain.length - payloadOffset(plain);
      opcode = Opcode.Text;
    } else {
      bytes = toBytes(data);
      plain = encodeFrame(Opcode.Binary, bytes);
      size = bytes.length;
      opcode = Opcode.Binary;
    }
    let compressed: Promise<Uint8Array> | undefined;
    const compressOnce = () =>
      (compressed ??= deflateMessage(plain.subarray(payloadOffset(plain))).then((payload) => encodeFrame(opcode, payload, true, true)));
    let delivered = 0;
    for (const ws of subscribers) {
      if (ws === except) continue;
      if (ws.connection.sendShared(plain, compress ? compressOnce : undefined, size) !== 0) delivered++;
    }
    return delivered ? size : 0;
  }

  /** Closes every connection (shutdown: 1001 Going Away) and resolves when all are gone. */
  async closeAll(code = 1001, reason = "server shutting down"): Promise<void> {
    const closing = [...this.peers].map((ws) => {
      ws.close(code, reason);
      return ws.connection.closed;
    });
    await Promise.all(closing);
  }

  /** Drops every connection at once, without a closing handshake (forced shutdown). */
  terminateAll(): void {
    for (const ws of this.peers) ws.terminate();
  }
}
