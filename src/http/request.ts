/**
 * The Request a handler receives. Method and URL are plain strings, headers and signal are made on first use, and
 * text()/json()/arrayBuffer()/bytes() read the body straight from the connection; the runtime's own Request is built
 * only when something needs it (clone(), formData(), `new Request(request)`, `fetch(request)`, ...).
 *
 * Whether such a request can skip the native constructor depends on how the runtime recognizes its Requests:
 * - Node 20 (undici 6) and Deno keep a Request's state in symbol-keyed properties. A plain object whose prototype
 *   chain reaches Request.prototype, with getters for those properties that build the native Request, passes their
 *   checks: `new Request(request)` and `fetch(request)` read the state of the native one, built just then.
 * - Node 22+ (undici 7) and Chromium keep it where no other object can have it (private fields, the wrapper's C++
 *   object). There `serve()` makes the global `Request` and `fetch` (and the Cache API) build the native Request of
 *   a lazy one before the runtime sees it (`acceptLazyRequestsInGlobals`), as @hono/node-server does on Node.
 * - Elsewhere (Bun; Node 22+ and Chromium when the globals are left alone) the request is a subclass of the global
 *   Request constructed with its full state (1-2 µs on Node 24, 9-15 in Chromium, plus the garbage it leaves).
 * Whether the runtime takes lazy requests natively is decided once, by trying it (`lazyRequestsAccepted`).
 */
import { concatAll, EMPTY } from "../shared/bytes.js";
import type { ConnectionInfo } from "../shared/upgrade.js";
import { mapArguments } from "./argument-mapping.js";
import { fieldValue, requestHeaders } from "./line-headers.js";

/** The body of a request as the connection reads it (RequestBody). */
export interface BodySource {
  /** The next piece, or null at the end. */
  next(): Promise<Uint8Array | null>;
  toStream(): ReadableStream<Uint8Array>;
  /** Whether anyone asked for bytes yet. */
  readonly started: boolean;
  /** The whole body if every byte of it is already here (it is then read), else undefined. */
  takeWhole?(): Uint8Array | undefined;
}

/** The connection side of a request's signal. */
export interface DisconnectWatcher {
  /** Someone holds the request's signal now: notice the client leaving from here on. */
  watchForDisconnect(): void;
}

/** What the connection knows about a request. */
export interface RequestParts {
  method: string;
  /** The URL as `new Request(url).url` would serialize it. */
  url: string;
  /** The request target as sent. */
  target: string;
  /** Every header field as sent (names lower-cased). */
  fields: Array<[string, string]>;
  /** Null when the request carries no body (also for GET and HEAD, which web Requests cannot give one). */
  body: BodySource | null;
  info: ConnectionInfo;
  watcher: DisconnectWatcher;
}

const METHOD = Symbol("method");
const URL_STRING = Symbol("url");
const TARGET = Symbol("target");
const FIELDS = Symbol("fields");
const INFO = Symbol("info");
const BODY = Symbol("body");
const WATCHER = Symbol("watcher");
/** The object holding the runtime's Request state: the request itself when constructed as one, else built on demand. */
const NATIVE = Symbol("native");
const HEADERS = Symbol("headers");
/** The body's stream, once someone asked for `body`. */
const STREAM = Symbol("stream");
/** Set once text()/json()/arrayBuffer()/bytes() took the body without a stream. */
const TAKEN = Symbol("taken");
const CONTROLLER = Symbol("controller");
/** Why the request was aborted before anyone asked for its signal. */
const ABORT_REASON = Symbol("abort reason");
/** Set once the response is complete: the client leaving no longer aborts anything. */
const ANSWERED = Symbol("answered");

const NativeRequest = globalThis.Request;
const native = Object.getOwnPropertyDescriptors(NativeRequest.prototype) as Record<string, PropertyDescriptor>;
const nativeGetter = (name: string) => native[name]!.get!;
const nativeMethod = (name: string) => native[name]!.value as (this: Request, ...args: unknown[]) => unknown;
const nativeHeaders = nativeGetter("headers");
const nativeBody = nativeGetter("body");
const nativeBodyUsed = nativeGetter("bodyUsed");
const DECODER = new TextDecoder();

/** Fetch normalizes these methods to upper case (and keeps every other token as sent). */
export const NORMALIZED_METHODS: ReadonlySet<string> = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);

export function normalizeMethod(method: string): string {
  if (NORMALIZED_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return NORMALIZED_METHODS.has(upper) ? upper : method;
}

/**
 * `request.headers.get(name)` for a lower-case `name`, read from the parsed field lines while the request's Headers
 * has not been made: for middleware that looks at one field of every request (CORS's Origin).
 */
export function requestField(request: Request, name: string): string | null {
  if (!(request instanceof ServerRequest) || request[HEADERS] || request[NATIVE] === request) return request.headers.get(name);
  return fieldValue(request[FIELDS], name);
}

/** Whether `value` is a request whose native Request is not built yet. */
function isLazy(value: unknown): value is ServerRequest {
  return value instanceof ServerRequest && value[NATIVE] !== value;
}

/** `value` for the runtime's own code: the native Request of a lazy request, anything else as it is. */
function nativeOf<T>(value: T): T | Request {
  return isLazy(value) ? materialize(value) : value;
}

/**
 * The global Request once `acceptLazyRequestsInGlobals` ran: it builds the native state of a lazy request it is
 * given, and counts every native Request as its own (clone() and the runtime itself make native ones).
 */
class LazyAwareRequest extends NativeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(nativeOf(input), init);
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses (ServerRequest), which inherit this method, keep the ordinary prototype check.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class instanceof was asked about, maybe a subclass
    return this === LazyAwareRequest ? value instanceof NativeRequest : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

export class ServerRequest extends LazyAwareRequest {
  declare [METHOD]: string;
  declare [URL_STRING]: string;
  declare [TARGET]: string;
  declare [FIELDS]: Array<[string, string]>;
  declare [INFO]: ConnectionInfo;
  declare [BODY]: BodySource | null;
  declare [WATCHER]: DisconnectWatcher;
  declare [NATIVE]: Request | undefined;
  declare [HEADERS]: Headers | undefined;
  declare [STREAM]: ReadableStream<Uint8Array> | undefined;
  declare [TAKEN]: boolean;
  declare [CONTROLLER]: AbortController | undefined;
  declare [ABORT_REASON]: unknown;
  declare [ANSWERED]: boolean;

  /** The runtime's Request with the full state (for runtimes that accept nothing else). */
  constructor(parts: RequestParts) {
    const stream = parts.body?.toStream();
    super(parts.url, {
      method: parts.method,
      // The field lines as they are: a Headers built here first would be copied into the Request's own.
      headers: parts.fields,
      body: stream ?? null,
      // @ts-expect-error `duplex` is required by fetch implementations for stream bodies but missing from the DOM typings.
      duplex: "half",
    });
    initialize(this, parts, this, stream);
  }

  override get method(): string {
    return this[METHOD];
  }

  override get url(): string {
    return this[URL_STRING];
  }

  // Browsers silently drop "forbidden" request headers (Host, Origin, Upgrade, Connection, Cookie, Sec-WebSocket-*,
  // Access-Control-Request-*, ...) from a Request; handlers must see every header the client sent.
  override get headers(): Headers {
    if (!this[HEADERS]) {
      const fields = this[FIELDS];
      if (this[NATIVE] === this) {
        const kept = nativeHeaders.call(this) as Headers;
        this[HEADERS] = fields.some(([name]) => !kept.has(name)) ? requestHeaders(fields) : kept;
      } else this[HEADERS] = requestHeaders(fields);
    }
    return this[HEADERS];
  }

  /** Aborts when the client disconnects before the response is complete. */
  override get signal(): AbortSignal {
    let controller = this[CONTROLLER];
    if (!controller) {
      controller = this[CONTROLLER] = new AbortController();
      if (this[ABORT_REASON] !== undefined) controller.abort(this[ABORT_REASON]);
      else if (!this[ANSWERED]) this[WATCHER].watchForDisconnect();
    }
    return controller.signal;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this[NATIVE] || this[TAKEN]) return nativeBody.call(materialize(this)) as ReadableStream<Uint8Array<ArrayBuffer>> | null;
    const body = this[BODY];
    // Body pieces are views of the socket's chunks, never of a SharedArrayBuffer.
    return body && ((this[STREAM] ??= body.toStream()) as ReadableStream<Uint8Array<ArrayBuffer>>);
  }

  override get bodyUsed(): boolean {
    if (this[NATIVE]) return nativeBodyUsed.call(this[NATIVE]) as boolean;
    return this[TAKEN] || (this[STREAM] !== undefined && this[BODY]!.started);
  }

  override text(): Promise<string> {
    if (this[NATIVE] || this[STREAM]) return nativeMethod("text").call(materialize(this)) as Promise<string>;
    return take(this, (bytes) => DECODER.decode(bytes));
  }

  // biome-ignore lint/suspicious/noExplicitAny: the type Request.json() has in the DOM typings
  override json(): Promise<any> {
    if (this[NATIVE] || this[STREAM]) return nativeMethod("json").call(materialize(this)) as Promise<unknown>;
    return this.text().then(JSON.parse);
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    if (this[NATIVE] || this[STREAM]) return nativeMethod("arrayBuffer").call(materialize(this)) as Promise<ArrayBuffer>;
    return take(this, (bytes) => ownBytes(bytes).buffer as ArrayBuffer);
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this[NATIVE] || this[STREAM]) return nativeMethod("bytes").call(materialize(this)) as Promise<Uint8Array<ArrayBuffer>>;
    return take(this, ownBytes);
  }

  // Through a Response, which types the Blob from Content-Type as fetch does (Bun's Request leaves a stream body's Blob untyped).
  override blob(): Promise<Blob> {
    const type = this.headers.get("content-type");
    return this.bytes().then((bytes) => new Response(bytes, type === null ? undefined : { headers: { "content-type": type } }).blob());
  }
}

function initialize(
  request: ServerRequest,
  parts: RequestParts,
  nativeState: Request | undefined,
  stream: ReadableStream<Uint8Array> | undefined,
): void {
  request[METHOD] = parts.method;
  request[URL_STRING] = parts.url;
  request[TARGET] = parts.target;
  request[FIELDS] = parts.fields;
  request[INFO] = parts.info;
  request[BODY] = parts.body;
  request[WATCHER] = parts.watcher;
  request[NATIVE] = nativeState;
  request[HEADERS] = undefined;
  request[STREAM] = stream;
  request[TAKEN] = false;
  request[CONTROLLER] = undefined;
  request[ABORT_REASON] = undefined;
  request[ANSWERED] = false;
}

/** A copy that owns its whole buffer (body pieces are views of the socket's chunks). */
function ownBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.length > 0
    ? (bytes as Uint8Array<ArrayBuffer>)
    : bytes.slice();
}

/**
 * The whole body, read without a stream; the body counts as used from here on. A body already buffered whole is
 * handed over as it is, without a read loop: `then` applies to it in the same turn.
 */
function take<T>(request: ServerRequest, then: (bytes: Uint8Array) => T): Promise<T> {
  if (request[TAKEN]) return Promise.reject(new TypeError("Body is unusable: it has already been read"));
  request[TAKEN] = true;
  const body = request[BODY];
  const whole = body ? body.takeWhole?.() : EMPTY;
  if (whole) {
    bodyRead(request);
    // A rejection, as the read loop would give, if `then` throws (JSON.parse on bad JSON).
    return Promise.resolve(whole).then(then);
  }
  return readAll(body!).then((bytes) => {
    bodyRead(request);
    return then(bytes);
  });
}

async function readAll(body: BodySource): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for (let piece = await body.next(); piece; piece = await body.next()) pieces.push(piece);
  return concatAll(pieces);
}

/** With the body read, the connection can watch for the client leaving again. */
function bodyRead(request: ServerRequest): void {
  if (request[CONTROLLER] && !request[ANSWERED]) request[WATCHER].watchForDisconnect();
}

/** The runtime's Request for this one, built on first need with the same method, URL, headers, body and signal. */
function materialize(request: ServerRequest): Request {
  if (request[NATIVE]) return request[NATIVE];
  const source = request[BODY];
  let body: ReadableStream<Uint8Array> | null = null;
  if (source) body = request[TAKEN] ? new ReadableStream() : (request[STREAM] ??= source.toStream());
  const built = new NativeRequest(request[URL_STRING], {
    method: request[METHOD],
    headers: request.headers,
    body,
    signal: request.signal,
    // @ts-expect-error `duplex` is required by fetch implementations for stream bodies but missing from the DOM typings.
    duplex: "half",
  });
  // A body already taken is used up for the native Request too: locked, so that clone() and new Request() refuse it.
  if (request[TAKEN] && body) (nativeBody.call(built) as ReadableStream).getReader();
  return (request[NATIVE] = built);
}

/**
 * The prototype of requests that skip the native constructor: every Request member that ServerRequest does not
 * answer itself goes to the native Request, and so do the symbol-keyed properties where the runtime keeps a
 * Request's state (found on a sample), so that the runtime's own code reading them gets the native state.
 */
const lazyPrototype: ServerRequest = Object.create(ServerRequest.prototype);
for (const [name, descriptor] of Object.entries(native)) {
  if (name === "constructor" || Object.hasOwn(ServerRequest.prototype, name)) continue;
  if (descriptor.get) {
    const get = descriptor.get;
    Object.defineProperty(lazyPrototype, name, {
      get(this: ServerRequest) {
        return get.call(materialize(this));
      },
      configurable: true,
    });
  } else if (typeof descriptor.value === "function") {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    Object.defineProperty(lazyPrototype, name, {
      value(this: ServerRequest, ...args: unknown[]) {
        return method.apply(materialize(this), args);
      },
      configurable: true,
      writable: true,
    });
  }
}
for (const slot of Object.getOwnPropertySymbols(new NativeRequest("http://sample.invalid/"))) {
  Object.defineProperty(lazyPrototype, slot, {
    get(this: ServerRequest) {
      return (materialize(this) as unknown as Record<symbol, unknown>)[slot];
    },
  });
}

function createLazy(parts: RequestParts): ServerRequest {
  const request = Object.create(lazyPrototype) as ServerRequest;
  initialize(request, parts, undefined, undefined);
  return request;
}

/** Whether this runtime's Request constructor takes a lazy request for its state (tried on a sample, once). */
function lazyRequestsAccepted(): boolean {
  const probe = (): ServerRequest =>
    createLazy({
      method: "PUT",
      url: "http://probe.invalid/path?query",
      target: "/path?query",
      fields: [["x-probe", "1"]],
      body: { next: async () => null, toStream: () => new ReadableStream({ start: (controller) => controller.close() }), started: false },
      info: { remoteAddress: "", remotePort: 0, localAddress: "", localPort: 0, remoteAddr: { transport: "tcp", hostname: "", port: 0 } },
      watcher: { watchForDisconnect() {} },
    });
  try {
    const copy = new NativeRequest(probe());
    const copyWithInit = new NativeRequest(probe(), { headers: { "x-other": "2" } });
    return (
      copy.method === "PUT" &&
      copy.url === "http://probe.invalid/path?query" &&
      copy.headers.get("x-probe") === "1" &&
      copy.body !== null &&
      copyWithInit.method === "PUT" &&
      copyWithInit.url === copy.url &&
      copyWithInit.headers.get("x-other") === "2" &&
      copyWithInit.body !== null
    );
  } catch {
    return false;
  }
}

let lazyRequestsMade = lazyRequestsAccepted();

/** Whether requests skip the native constructor here and now (see the top of this file). */
export function lazyRequests(): boolean {
  return lazyRequestsMade;
}

const nativeFetch = globalThis.fetch;

/** The global fetch once `acceptLazyRequestsInGlobals` ran. */
function fetchAcceptingLazy(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  return nativeFetch(nativeOf(input), init);
}

/** Replaces `name` of `target` by a function that builds the native Request of lazy ones among its arguments first. */
function acceptLazyArguments(target: object, name: string): void {
  // Cache.addAll() takes a list of requests.
  mapArguments(target, name, (args) => args.map((arg) => (Array.isArray(arg) ? arg.map(nativeOf) : nativeOf(arg))));
}

/**
 * Makes lazy requests usable where the runtime's Request does not take them (Node 22+, Chromium):
 * globalThis.Request and globalThis.fetch are replaced by ones that build the native Request of a lazy one first,
 * and so are the Cache API's methods where it exists. Code that kept the original Request or fetch from before
 * still gets a TypeError from `new Request(request)` or `fetch(request)`.
 */
export function acceptLazyRequestsInGlobals(): void {
  if (lazyRequestsMade) return;
  for (const [name, value] of [
    ["Request", LazyAwareRequest],
    ["fetch", fetchAcceptingLazy],
  ] as const) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  Object.defineProperty(fetchAcceptingLazy, "name", { value: "fetch" });
  Object.defineProperty(LazyAwareRequest, "name", { value: "Request" });
  const { Cache, CacheStorage } = globalThis as { Cache?: { prototype: object }; CacheStorage?: { prototype: object } };
  if (Cache) for (const name of ["add", "addAll", "delete", "keys", "match", "matchAll", "put"]) acceptLazyArguments(Cache.prototype, name);
  if (CacheStorage) acceptLazyArguments(CacheStorage.prototype, "match");
  lazyRequestsMade = true;
}

export function createServerRequest(parts: RequestParts): ServerRequest {
  return lazyRequestsMade ? createLazy(parts) : new ServerRequest(parts);
}

/** Aborts the request's signal (now, or when someone first asks for it), unless its response is complete. */
export function abortRequest(request: ServerRequest, reason: unknown): void {
  if (request[ANSWERED] || request[ABORT_REASON] !== undefined) return;
  request[ABORT_REASON] = reason;
  request[CONTROLLER]?.abort(reason);
}

/** The response is complete: from now on the client leaving aborts nothing. */
export function markAnswered(request: ServerRequest): void {
  request[ANSWERED] = true;
}

/** Whether someone holds the request's signal. */
export function signalRequested(request: ServerRequest): boolean {
  return request[CONTROLLER] !== undefined;
}

/** The request target as it appeared on the request line (`*` for server-wide OPTIONS). */
export function requestTarget(request: Request): string | undefined {
  return request instanceof ServerRequest ? request[TARGET] : undefined;
}

/** The addresses of the connection a request came on (undefined for a Request the server did not make). */
export function connectionInfoOf(request: Request): ConnectionInfo | undefined {
  return request instanceof ServerRequest ? request[INFO] : undefined;
}
