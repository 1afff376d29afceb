/** Bun's `ServerWebSocket`: one peer of a `WebSocketHub`, with pub/sub. */

import { ReadyState, type WebSocketConnection } from "./connection.js";
import { SendStatus } from "./sender.js";
import type { BinaryData } from "./frames.js";

/** What a socket needs from its hub for pub/sub. */
export interface TopicRegistry {
  subscribe(ws: ServerWebSocket<unknown>, topic: string): void;
  unsubscribe(ws: ServerWebSocket<unknown>, topic: string): void;
  publish(topic: string, data: string | BinaryData, compress: boolean, except?: ServerWebSocket<unknown>): number;
}

export class ServerWebSocket<T = undefined> {
  /** Topics this socket is subscribed to (kept by the socket so closing can unsubscribe everywhere). */
  readonly topics = new Set<string>();

  constructor(
    readonly connection: WebSocketConnection,
    private readonly registry: TopicRegistry,
    /** The `data` given to `server.upgrade(request, { data })`. */
    public data: T,
    /** The negotiated subprotocol ("" when none). */
    readonly protocol: string,
    /** The negotiated extensions ("" when none). */
    readonly extensions: string,
    private readonly publishToSelf: boolean,
  ) {}

  get remoteAddress(): string {
    return this.connection.remoteAddress;
  }

  get readyState(): number {
    return this.connection.readyState;
  }

  get bufferedAmount(): number {
    return this.connection.bufferedAmount;
  }

  /** Bytes queued, `-1` when queued under backpressure (wait for `drain`), `0` when dropped. */
  send(data: string | BinaryData, compress = true): number {
    return this.connection.send(data, compress);
  }

  sendText(data: string, compress = true): number {
    return this.connection.send(data, compress);
  }

  sendBinary(data: BinaryData, compress = true): number {
    return this.connection.send(data, compress);
  }

  close(code?: number, reason?: string): void {
    this.connection.close(code, reason);
  }

  /** Drops the connection without a closing handshake. */
  terminate(): void {
    this.connection.terminate();
  }

  ping(data?: string | BinaryData): number {
    return this.connection.ping(data);
  }

  pong(data?: string | BinaryData): number {
    return this.connection.pong(data);
  }

  /** Batches the sends made inside `callback` into one socket write. */
  cork<R>(callback: (ws: this) => R): R {
    let result!: R;
    this.connection.cork(() => (result = callback(this)));
    return result;
  }

  subscribe(topic: string): void {
    if (this.readyState !== ReadyState.OPEN || this.topics.has(topic)) return;
    this.topics.add(topic);
    this.registry.subscribe(this, topic);
  }

  unsubscribe(topic: string): void {
    if (!this.topics.delete(topic)) return;
    this.registry.unsubscribe(this, topic);
  }

  isSubscribed(topic: string): boolean {
    return this.topics.has(topic);
  }

  get subscriptions(): string[] {
    return [...this.topics];
  }

  /** Sends to every subscriber of `topic` except this socket (unless `publishToSelf`). */
  publish(topic: string, data: string | BinaryData, compress = true): number {
    if (this.readyState !== ReadyState.OPEN) return SendStatus.Dropped;
    return this.registry.publish(topic, data, compress, this.publishToSelf ? undefined : this);
  }

  publishText(topic: string, data: string, compress = true): number {
    return this.publish(topic, data, compress);
  }

  publishBinary(topic: string, data: BinaryData, compress = true): number {
    return this.publish(topic, data, compress);
  }
}
