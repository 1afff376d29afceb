/** The Bun-style `websocket` option of `serve()`: event handlers and per-server settings. */

import type { ServerWebSocket } from "./server-websocket.js";
import type { HandshakeOptions } from "./handshake.js";
import type { ConnectionSettings } from "./connection.js";

export interface WebSocketSettings extends HandshakeOptions {
  /** Largest incoming message in bytes, after decompression; bigger ones close the connection with 1009. Default 16 MiB. */
  maxPayloadLength?: number;
  /**
   * Milliseconds of silence before a keepalive ping; a peer that stays silent another period is dropped. Default
   * 120000 (2 min), 0 off. Milliseconds like every timeout here (Bun's option of the same name is in seconds).
   */
  idleTimeout?: number;
  /** Bytes queued for one peer above which sends are dropped. Default 16 MiB. */
  backpressureLimit?: number;
  /** Close the connection (1008) instead of dropping messages at the backpressure limit. Default false. */
  closeOnBackpressureLimit?: boolean;
  /** Milliseconds to wait for the peer's answer to our close frame. Default 5000. */
  closeTimeout?: number;
  /** Whether `publish` also delivers to the publishing socket itself. Default false, as in Bun. */
  publishToSelf?: boolean;
}

export interface WebSocketHandler<T = undefined> extends WebSocketSettings {
  open?(ws: ServerWebSocket<T>): void;
  message(ws: ServerWebSocket<T>, message: string | Uint8Array): void;
  close?(ws: ServerWebSocket<T>, code: number, reason: string): void;
  drain?(ws: ServerWebSocket<T>): void;
  /** A handler threw or the peer broke the protocol; by default logged. */
  error?(ws: ServerWebSocket<T>, error: unknown): void;
  ping?(ws: ServerWebSocket<T>, data: Uint8Array): void;
  pong?(ws: ServerWebSocket<T>, data: Uint8Array): void;
}

export const DEFAULT_MAX_PAYLOAD_LENGTH = 16 * 1024 * 1024;

/** Connection settings from the options, with defaults. */
export function connectionSettings(options: WebSocketSettings): Omit<ConnectionSettings, "deflate"> {
  const maxPayloadLength = options.maxPayloadLength ?? DEFAULT_MAX_PAYLOAD_LENGTH;
  const idleTimeout = options.idleTimeout ?? 120_000;
  const backpressureLimit = options.backpressureLimit ?? 16 * 1024 * 1024;
  const closeTimeout = options.closeTimeout ?? 5000;
  for (const [name, value] of Object.entries({ maxPayloadLength, idleTimeout, backpressureLimit, closeTimeout })) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`websocket.${name} must be a finite number >= 0`);
  }
  return {
    maxPayloadLength,
    idleTimeout,
    backpressureLimit,
    closeOnBackpressureLimit: options.closeOnBackpressureLimit ?? false,
    closeTimeout,
  };
}
