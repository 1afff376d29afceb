import { detectRuntime, listen } from "../sockets/index.js";
import type { ListenOptions, TCPServerSocket } from "../sockets/types.js";
import { HttpConnection, type ConnectionHost } from "../http/connection.js";
import { sweepFor } from "../http/deadlines.js";
import { type ServedConnection, SniffedConnection } from "../http2/sniff.js";
import type { Http2Options } from "../http2/connection.js";
import { acceptLazyRequestsInGlobals, connectionInfoOf } from "../http/request.js";
import { useFastResponseGlobally } from "../http/fast-response.js";
import { HttpError } from "../http/errors.js";
import { type Limits, resolveLimits } from "../http/limits.js";
import type { ConnectionInfo } from "../shared/upgrade.js";
import { isPromiseLike } from "../shared/maybe-promise.js";
import { WebSocketHub, type UpgradeOptions, type WebSocketHandler, type BinaryData } from "../websocket/index.js";
import { loadTlsCredentials, type TlsCredentialInput } from "../tls/credentials.js";
import { tlsSocket, type TlsSocketOptions } from "../tls/socket.js";
import { nodeCryptoPrimitives, webCryptoPrimitives } from "../tls/primitives.js";

/** What a handler gets besides the request: who is connected, and the server (for `upgrade`, `publish`). */
export interface ServeInfo extends ConnectionInfo {
  server: Server;
}

export type FetchHandler = (request: Request, info: ServeInfo) => Response | undefined | Promise<Response | undefined>;

export interface ServeOptions
  extends Partial<Limits>,
    Pick<ListenOptions, "backlog" | "noDelay" | "keepAliveDelay" | "ipv6Only" | "lingerMs"> {
  fetch: FetchHandler;
  /** Bun-style WebSocket handlers; enables `server.upgrade()` and `server.publish()`. */
  // biome-ignore lint/suspicious/noExplicitAny: each server picks its own `ws.data` type
  websocket?: WebSocketHandler<any>;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: only this machine can connect unless you say otherwise. */
  hostname?: string;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  onListen?: (address: { hostname: string; port: number; url: string }) => void;
  /** Turns a thrown or rejected handler error into a response; by default logs it and answers 500. */
  onError?: (error: unknown) => Response | Promise<Response>;
  /**
   * Serves HTTPS (and WSS) with TLS 1.3: the certificate chain and private key in PEM (`certName`/`keyName` name
   * them in errors); `handshakeTimeout` in milliseconds, default 10 000; `keyUpdateAfterRecords`, records sent
   * under one key before a KeyUpdate, default 2^24; `engine`: "auto" (default) runs HMAC, hashes and AES-GCM on
   * node:crypto on Node (several times faster there) and on Web Crypto elsewhere, "web-crypto" on Web Crypto everywhere.
   */
  tls?: TlsCredentialInput & Pick<TlsSocketOptions, "handshakeTimeout" | "keyUpdateAfterRecords"> & { engine?: "auto" | "web-crypto" };
  /**
   * HTTP/2's limits (streams, windows, flood counts), or false to speak HTTP/1.1 alone: no h2c preface on the port,
   * no `h2` by ALPN.
   */
  http2?: Partial<Http2Options> | false;
  /**
   * Whether serve() may replace Web API globals by faster ones, as @hono/node-server does on Node. Default true.
   * - On Node 22+ and in Chromium, globalThis.Request and globalThis.fetch (and the Cache API's methods) by ones that
   *   accept its requests, so that a request's native Request is built only when something needs it (a quarter of
   *   the time of a small request on Node 24, a sixth in Chromium).
   * - On Node and in Chromium, globalThis.Response by FastResponse (and the Cache API's put() and WebAssembly's
   *   streaming compilation by ones that take it), so that `new Response(...)` in handlers is written without the
   *   runtime's Response and body stream.
   * False keeps the globals as they are.
   */
  overrideGlobalObjects?: boolean;
  /** Opens the listening socket; by default the runtime's (`listen()` from browser-httpd/sockets). */
  listen?: (hostname: string, options: ListenOptions) => Promise<TCPServerSocket> | TCPServerSocket;
}

export interface ServerStats {
  /** Connections open now. */
  connections: number;
  /** Connections accepted since start. */
  acceptedConnections: number;
  /** Requests answered by the handler since start. */
  requests: number;
  /** Requests refused by the server itself (malformed, over a limit) since start. */
  refusedRequests: number;
}

export interface Server {
  readonly hostname: string;
  /** The bound port once `ready()` resolved (the requested one before). */
  readonly port: number;
  /** `http://hostname:port/` (`https://` with `tls`) once `ready()` resolved. */
  readonly url: string;
  readonly addr: { transport: "tcp"; hostname: string; port: number };
  readonly stats: Readonly<ServerStats>;
  /** Resolves once the server accepts connections; rejects when it cannot listen. */
  ready(): Promise<Server>;
  /** Resolves when the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets in-flight requests finish, closes idle connections. */
  shutdown(): Promise<void>;
  /**
   * Bun's/srvx's name for `shutdown()`; with `closeActiveConnections` it drops every connection and WebSocket
   * at once instead of waiting for in-flight responses (a response that streams forever never finishes).
   */
  close(closeActiveConnections?: boolean): Promise<void>;
  /** The client address of a request this server received. */
  requestIP(request: Request): { address: string; port: number } | undefined;
  /** Bun's `server.upgrade`: accepts a WebSocket handshake (needs the `websocket` option); false when invalid. */
  upgrade<T>(request: Request, options?: UpgradeOptions<T>): boolean;
  /** Sends to every WebSocket subscribed to `topic`; the message's byte length, or 0 when nobody got it. */
  publish(topic: string, data: string | BinaryData, compress?: boolean): number;
  subscriberCount(topic: string): number;
  /** Open WebSocket connections. */
  readonly pendingWebSockets: number;
}

function defaultOnError(error: unknown): Response {
  console.error("browser-httpd: handler failed:", error);
  return new Response("Internal Server Error\n", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** The faster Request and Response objects where the runtime's own cost the most (see `overrideGlobalObjects`). */
function overrideGlobalObjects(runtime: ReturnType<typeof detectRuntime>): void {
  if (runtime === "node" || runtime === "browser") {
    acceptLazyRequestsInGlobals();
    useFastResponseGlobally();
  }
}

/**
 * Serves HTTP/1.1 with a fetch-style handler, as `Deno.serve`, `Bun.serve` and srvx's `serve` do,
 * on the Direct Sockets `TCPServerSocket` of the browser or the adapter of the runtime.
 */
export function serve(options: ServeOptions): Server {
  if (options.overrideGlobalObjects !== false) overrideGlobalObjects(detectRuntime());
  const limits = resolveLimits(options);
  const hostname = options.hostname ?? "127.0.0.1";
  const onError = options.onError ?? defaultOnError;
  const connections = new Set<ServedConnection>();
  const runs = new Set<Promise<void>>();
  /** One `info` object per connection, not per request. */
  const serveInfos = new WeakMap<ConnectionInfo, ServeInfo>();
  const stats: ServerStats = { connections: 0, acceptedConnections: 0, requests: 0, refusedRequests: 0 };
  let port = options.port ?? 8080;
  let draining = false;
  let serverSocket: TCPServerSocket | undefined;
  let tls: TlsSocketOptions | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const hub = options.websocket ? new WebSocketHub(options.websocket) : undefined;

  const host: ConnectionHost = {
    limits,
    deadlines: sweepFor(Math.min(limits.idleTimeout, limits.headersTimeout, limits.bodyTimeout)),
    get draining() {
      return draining;
    },
    respond(request, info) {
      stats.requests++;
      let serveInfo = serveInfos.get(info);
      if (!serveInfo) serveInfos.set(info, (serveInfo = { ...info, server }));
      let answer: ReturnType<FetchHandler>;
      try {
        answer = options.fetch(request, serveInfo);
      } catch (error) {
        return answerError(error);
      }
      // An answer given at once stays synchronous (see maybe-promise.ts); a rejection is answered as a throw is.
      return isPromiseLike(answer) ? Promise.resolve(answer).catch(answerError) : answer;
    },
    refused() {
      stats.refusedRequests++;
    },
    report() {
      // Peers vanish mid-response all the time; that is the connection's end, not the server's problem.
    },
  };

  /** The response for a handler that threw or rejected. */
  async function answerError(error: unknown): Promise<Response> {
    // The request body was malformed or over a limit: the connection answers that status itself.
    if (error instanceof HttpError) return new Response(null, { status: error.status });
    try {
      return await onError(error);
    } catch (secondary) {
      return defaultOnError(secondary);
    }
  }

  async function acceptLoop(socket: TCPServerSocket): Promise<void> {
    const { readable } = await socket.opened;
    const reader = readable.getReader();
    for (;;) {
      const { value: accepted, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done || !accepted) break;
      stats.acceptedConnections++;
      const socket = tls ? tlsSocket(accepted, tls) : accepted;
      // HTTP/2 (ALPN "h2", or the h2c preface as the first bytes) or HTTP/1.1; over the cap, HTTP/1.1's 503.
      const overCapacity = connections.size >= limits.maxConnections;
      const connection =
        overCapacity || options.http2 === false
          ? new HttpConnection(socket, host, overCapacity)
          : new SniffedConnection(socket, host, options.http2);
      connections.add(connection);
      stats.connections = connections.size;
      const run = connection.run().finally(() => {
        connections.delete(connection);
        stats.connections = connections.size;
        runs.delete(run);
      });
      runs.add(run);
    }
  }

  async function start(): Promise<Server> {
    if (options.tls) {
      const { handshakeTimeout, keyUpdateAfterRecords, engine, ...credentials } = options.tls;
      const primitives = (engine === "web-crypto" ? undefined : await nodeCryptoPrimitives()) ?? webCryptoPrimitives;
      // HTTP/2 first, as browsers and curl prefer it; WebSocket clients ask for http/1.1 alone and get it.
      const alpnProtocols = options.http2 === false ? ["http/1.1"] : ["h2", "http/1.1"];
      tls = { credentials: await loadTlsCredentials(credentials), alpnProtocols, handshakeTimeout, keyUpdateAfterRecords, primitives };
    }
    const open = options.listen ?? listen;
    serverSocket = await open(hostname, {
      localPort: port,
      backlog: options.backlog,
      noDelay: options.noDelay,
      keepAliveDelay: options.keepAliveDelay,
      ipv6Only: options.ipv6Only,
      lingerMs: options.lingerMs,
    });
    const opened = await serverSocket.opened;
    port = opened.localPort;
    acceptLoop(serverSocket).catch(() => {});
    options.onListen?.({ hostname, port, url: server.url });
    return server;
  }

  let shuttingDown: Promise<void> | undefined;
  let forceClose!: () => void;
  const forced = new Promise<void>((resolve) => (forceClose = resolve));
  const shutdown = () => {
    shuttingDown ??= (async () => {
      draining = true;
      await ready.catch(() => {});
      await serverSocket?.close().catch(() => {});
      for (const connection of connections) connection.closeIfIdle();
      await Promise.race([hub?.closeAll(1001, "server shutting down"), forced]);
      // A forced close does not wait for handlers that never finish.
      await Promise.race([
        (async () => {
          while (runs.size) await Promise.all(runs);
        })(),
        forced,
      ]);
      finish();
    })();
    return shuttingDown;
  };
  const close = (closeActiveConnections = false) => {
    if (closeActiveConnections) {
      draining = true;
      for (const connection of connections) connection.abort();
      connections.clear();
      stats.connections = 0;
      hub?.terminateAll();
      forceClose();
    }
    return shutdown();
  };
  options.signal?.addEventListener("abort", () => void shutdown(), { once: true });

  const server: Server = {
    hostname,
    get port() {
      return port;
    },
    get url() {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      return `${options.tls ? "https" : "http"}://${host}:${port}/`;
    },
    get addr() {
      return { transport: "tcp" as const, hostname, port };
    },
    stats,
    ready: () => ready,
    finished,
    shutdown,
    close,
    upgrade(request, upgradeOptions) {
      if (!hub) throw new TypeError("server.upgrade() needs the `websocket` option of serve()");
      return hub.upgrade(request, upgradeOptions);
    },
    publish: (topic, data, compress) => hub?.publish(topic, data, compress) ?? 0,
    subscriberCount: (topic) => hub?.subscriberCount(topic) ?? 0,
    get pendingWebSockets() {
      return hub?.peerCount ?? 0;
    },
    requestIP(request) {
      const info = connectionInfoOf(request);
      return info && { address: info.remoteAddress, port: info.remotePort };
    },
  };
  const ready = start();
  ready.catch(() => finish());
  return server;
}
