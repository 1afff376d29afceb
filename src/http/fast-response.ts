/**
 * A Response with its body in memory (a string or bytes) that the server writes in one piece, without building the
 * runtime's Response or reading a stream. On Node the runtime's `new Response(string)` costs 15-30 µs (it makes a
 * ReadableStream for the body at once), as much as all of node:http's work per request; this costs well under 1 µs.
 *
 * It is a Response to the handler's code (`instanceof Response`, status, headers, every method and getter); the
 * runtime's Response is built only when something needs it (`body`, `text()`, `clone()`, ...), and from then on
 * the server writes that one. It is not a Response to the runtime's own brand checks: the Web APIs that take a
 * Response (`cache.put()`, `WebAssembly.compileStreaming()`) get the runtime's one once `useFastResponseGlobally`
 * wrapped them. On Node and in Chromium serve() makes it the global Response (as @hono/node-server does on Node), so
 * that handlers written with `new Response(...)` and `Response.json(...)` get it.
 */

import { whenSettled } from "../shared/maybe-promise.js";
import { mapArguments } from "./argument-mapping.js";
import { checkedLine, fieldLines, fieldValue, headersOver, type Line, responseHeaders } from "./line-headers.js";

type InMemoryBody = string | Uint8Array;

/** Where a FastResponse that the server may write without the runtime's Response keeps its parts. */
export interface ResponseParts {
  status: number;
  /** A Headers, or the checked field lines (names in lower case) while nobody asked for the Headers. */
  headers: Headers | ReadonlyArray<Readonly<Line>>;
  body: InMemoryBody | null;
}

const NativeResponse = globalThis.Response;
const native = Object.getOwnPropertyDescriptors(NativeResponse.prototype) as Record<string, PropertyDescriptor>;

function inMemoryBody(body: BodyInit | null | undefined): InMemoryBody | null | undefined {
  if (body === null || body === undefined) return null;
  if (typeof body === "string" || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

/**
 * Node 20's undici keeps a Response's body source (the string or bytes it was made from) in a symbol-keyed state;
 * while the body's stream is untouched, the server writes the source instead of reading the stream. Node 22+ keeps
 * that state in private fields, other runtimes in native objects: there the stream is read.
 */
const undiciState = Object.getOwnPropertySymbols(new NativeResponse("")).find((key) => key.description === "state");

interface UndiciBody {
  source: unknown;
  stream: ReadableStream;
}

function runtimeResponseParts(response: Response): ResponseParts | undefined {
  if (!undiciState) return undefined;
  const body = (response as unknown as Record<symbol, { body: UndiciBody | null } | undefined>)[undiciState]?.body;
  if (body === undefined) return undefined;
  if (
    body !== null &&
    !((typeof body.source === "string" || body.source instanceof Uint8Array) && !body.stream.locked && !response.bodyUsed)
  ) {
    return undefined;
  }
  return { status: response.status, headers: response.headers, body: body && (body.source as InMemoryBody) };
}

/** The status, headers and in-memory body of a response the server can write without reading a stream. */
export function responseParts(response: Response): ResponseParts | undefined {
  return FastResponse.partsOf(response) ?? runtimeResponseParts(response);
}

export interface FastResponse extends Response {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the Response members the class lacks are forwarded at runtime (below).
export class FastResponse {
  readonly #status: number;
  readonly #statusText: string;
  /**
   * The field lines, until `headers` is asked for: then a Headers takes them over. Making a Headers costs more than
   * the rest of a response in Chromium (0.7 µs on the request path), and the server writes the lines as they are.
   */
  readonly #fields: Line[];
  #headers: Headers | undefined;
  /** The body in memory; undefined for other kinds of body (streams, blobs, forms), which go to the runtime's Response. */
  readonly #body: InMemoryBody | null | undefined;
  readonly #bodyInit: BodyInit | null | undefined;
  #native: Response | undefined;

  constructor(body?: BodyInit | null, init: ResponseInit = {}) {
    const status = init.status ?? 200;
    // The runtime's rules, checked as its constructor would.
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`invalid status ${status}`);
    this.#status = status;
    this.#statusText = init.statusText ?? "";
    this.#fields = fieldLines(init.headers);
    this.#bodyInit = body;
    this.#body = inMemoryBody(body);
    if (this.#body !== null && (status === 204 || status === 205 || status === 304)) {
      throw new TypeError(`a response with status ${status} cannot have a body`);
    }
    if (typeof body === "string" && !this.#fields.some(([name]) => name === "content-type")) {
      this.#fields.push(["content-type", "text/plain;charset=UTF-8"]);
    }
    if (this.#body === undefined) this.#native = this.#materialize();
  }

  /** Once this is the global Response, the runtime's Responses (from fetch(), Response.error(), ...) count as its own. */
  static [Symbol.hasInstance](value: unknown): boolean {
    if ((globalThis.Response as unknown) === FastResponse) return value instanceof NativeResponse;
    return Function.prototype[Symbol.hasInstance].call(FastResponse, value);
  }

  /** `Response.json()`: the JSON text as an in-memory body, typed application/json unless `init` says otherwise. */
  static json(data: unknown, init: ResponseInit = {}): Response {
    const body = JSON.stringify(data);
    if (body === undefined) throw new TypeError("Response.json: the data cannot be serialized as JSON");
    const headers = responseHeaders(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new FastResponse(body, { status: init.status, statusText: init.statusText, headers });
  }

  /** The parts to write, while the runtime's Response has not been built; undefined for anything else. */
  static partsOf(response: Response): ResponseParts | undefined {
    if (!(#native in response)) return undefined;
    if (response.#native) return runtimeResponseParts(response.#native);
    return { status: response.#status, headers: response.#headers ?? response.#fields, body: response.#body! };
  }

  /**
   * `response.headers.get(name)` for a lower-case `name`, without making a FastResponse's Headers: for code that
   * looks at one field of every response (the app's request log).
   */
  static headerOf(response: Response, name: string): string | null {
    if (!(#native in response) || response.#native || response.#headers) return response.headers.get(name);
    return fieldValue(response.#fields, name);
  }

  /** `response.headers.append(name, value)`, without making a FastResponse's Headers (for middleware such as CORS). */
  static appendHeader(response: Response, name: string, value: string): void {
    if (!(#native in response) || response.#native || response.#headers) response.headers.append(name, value);
    else response.#fields.push(checkedLine(name, value));
  }

  /** The runtime's Response for this one (built once), for the server to write when it holds more than memory. */
  static nativeOf(response: Response): Response | undefined {
    return #native in response ? (response.#native ??= response.#materialize()) : undefined;
  }

  #materialize(): Response {
    return new NativeResponse(this.#bodyInit, {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.#headers ?? this.#fields,
    });
  }

  get status(): number {
    return this.#status;
  }

  get ok(): boolean {
    return this.#status >= 200 && this.#status <= 299;
  }

  get statusText(): string {
    return this.#statusText;
  }

  get headers(): Headers {
    // Once built, the runtime's Response (a copy of these headers) is what the server writes.
    if (this.#native) return native.headers!.get!.call(this.#native) as Headers;
    // The lines go to the Headers: from now on they are its own.
    this.#headers ??= headersOver(this.#fields);
    return this.#headers;
  }

  get type(): ResponseType {
    return "default";
  }

  get url(): string {
    return "";
  }

  get redirected(): boolean {
    return false;
  }

  get bodyUsed(): boolean {
    return this.#native ? (native.bodyUsed!.get!.call(this.#native) as boolean) : false;
  }
}

// Everything else a Response has goes to the runtime's Response, built on first use.
for (const [name, descriptor] of Object.entries(native)) {
  if (name === "constructor" || Object.hasOwn(FastResponse.prototype, name)) continue;
  if (descriptor.get) {
    const get = descriptor.get;
    Object.defineProperty(FastResponse.prototype, name, {
      get(this: FastResponse) {
        return get.call(FastResponse.nativeOf(this) ?? this);
      },
      configurable: true,
    });
  } else if (typeof descriptor.value === "function") {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    Object.defineProperty(FastResponse.prototype, name, {
      value(this: FastResponse, ...args: unknown[]) {
        return method.apply(FastResponse.nativeOf(this) ?? this, args);
      },
      configurable: true,
      writable: true,
    });
  }
}
Object.setPrototypeOf(FastResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(FastResponse, NativeResponse);

/**
 * Makes FastResponse the global Response: handlers' `new Response(...)` and `Response.json(...)` then skip the
 * runtime's Response (and its body stream) too. The Web APIs that check a Response's brand are wrapped to get the
 * runtime's Response of a FastResponse: the Cache API's `put()` and WebAssembly's streaming compilation (a Response,
 * or a promise of one). Code that kept those functions from before still needs the runtime's Response.
 */
export function useFastResponseGlobally(): void {
  if ((globalThis.Response as unknown) === FastResponse) return;
  Object.defineProperty(globalThis, "Response", { value: FastResponse, writable: true, configurable: true, enumerable: false });
  const { Cache } = globalThis as { Cache?: { prototype: object } };
  if (Cache) mapArguments(Cache.prototype, "put", (args) => [args[0], runtimeResponse(args[1])]);
  for (const name of ["compileStreaming", "instantiateStreaming"]) {
    mapArguments(WebAssembly, name, ([source, ...rest]) => [whenSettled(source, runtimeResponse), ...rest]);
  }
}

/** The runtime's Response of a FastResponse; anything else as it is. */
function runtimeResponse(value: unknown): unknown {
  return value !== null && typeof value === "object" ? (FastResponse.nativeOf(value as Response) ?? value) : value;
}
