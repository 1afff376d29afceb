export { serve } from "./server/serve.js";
export type { FetchHandler, Server, ServeInfo, ServeOptions, ServerStats } from "./server/serve.js";
export type { AppModule } from "./server/app-module.js";
export type { Http2Options } from "./http2/connection.js";
export { requestTarget } from "./http/request.js";
export { HttpError } from "./http/errors.js";
export { FastResponse } from "./http/fast-response.js";
export { defaultLimits, type Limits } from "./http/limits.js";
export { isUpgrade, upgradeResponse, type ConnectionInfo } from "./shared/upgrade.js";
export { listen } from "./sockets/index.js";
export { cors, preflightResponse, withCorsHeaders, type CorsOptions } from "./server/cors.js";
export {
  upgradeWebSocket,
  upgradeWebSocketStream,
  ServerWebSocket,
  CloseCode,
  ReadyState,
  SendStatus,
  type WebSocketHandler,
  type WebSocketSettings,
  type UpgradeOptions,
  type UpgradeWebSocketOptions,
  type ServerWebSocketStream,
  type PerMessageDeflateOptions,
} from "./websocket/index.js";
export {
  serveStatic,
  directorySource,
  filesSource,
  directoryHandleSource,
  type ServeStaticOptions,
  type StaticHandler,
  type FileSource,
  type FileStat,
  type DirectoryEntry,
  type FileBody,
  type FileEntry,
  type DirectoryHandleLike,
  type FileHandleLike,
} from "./static/index.js";
