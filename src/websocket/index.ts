/** WebSocket server (RFC 6455, RFC 7692): Bun-style hub with pub/sub, Deno-style and stream-style upgrades. */

export { WebSocketHub, type UpgradeOptions } from "./hub.js";
export { ServerWebSocket } from "./server-websocket.js";
export type { WebSocketHandler, WebSocketSettings } from "./handler.js";
export { DEFAULT_MAX_PAYLOAD_LENGTH } from "./handler.js";
export {
  upgradeWebSocket,
  UpgradedWebSocket,
  WebSocketCloseEvent,
  WebSocketErrorEvent,
  type UpgradeWebSocketOptions,
} from "./upgrade-websocket.js";
export {
  upgradeWebSocketStream,
  type ServerWebSocketStream,
  type WebSocketStreamOpenInfo,
  type WebSocketStreamCloseInfo,
} from "./stream.js";
export {
  acceptHandshake,
  acceptKey,
  rejectionResponse,
  type AcceptedHandshake,
  type HandshakeOptions,
  type HandshakeResult,
} from "./handshake.js";
export type { PerMessageDeflateOptions } from "./extensions.js";
export { CloseCode, type BinaryData } from "./frames.js";
export { ReadyState } from "./connection.js";
export { SendStatus } from "./sender.js";
