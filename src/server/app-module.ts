/**
 * The app module contract: a module whose default export is `{ fetch(request, info), websocket?, port?, hostname?,
 * onListen?, onError? }`, the shape `deno serve`, Bun and srvx run. `appModuleOf` checks a loaded module against it
 * with errors that name the file and the rule broken. Web APIs only: the IWA checks the module it bundled with it.
 */
import type { WebSocketHandler } from "../websocket/index.js";
import type { FetchHandler, ServeOptions } from "./serve.js";

export interface AppModule {
  fetch: FetchHandler;
  // biome-ignore lint/suspicious/noExplicitAny: each app picks its own `ws.data` type
  websocket?: WebSocketHandler<any>;
  /** 0 picks a free port; without it, the runner's default (8080 for `serve`, 44818 in the IWA). */
  port?: number;
  hostname?: string;
  onListen?: ServeOptions["onListen"];
  onError?: ServeOptions["onError"];
}

export class AppModuleError extends Error {
  constructor(
    /** The module's file, as the user named it. */
    readonly file: string,
    /** What is wrong, without the file. */
    readonly rule: string,
    message = `${file}: ${rule}`,
  ) {
    super(message);
    this.name = "AppModuleError";
  }
}

const SHAPE = '`export default { fetch(request) { return new Response("Hello"); } }`';

export function noDefaultExport(file: string): AppModuleError {
  return new AppModuleError(file, `has no default export; an app module ends with ${SHAPE}`);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "object" || typeof value === "function") return `a${typeof value === "object" ? "n" : ""} ${typeof value}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * The app of a module namespace (`await import(file)`), checked: a throw names `file` and the rule. Methods are
 * bound, so an instance whose `fetch` lives on its class works once taken apart.
 */
export function appModuleOf(namespace: Readonly<Record<string, unknown>>, file: string): AppModule {
  if (!("default" in namespace)) throw noDefaultExport(file);
  const app = namespace.default as Record<string, unknown> | null;
  if (typeof app !== "object" || app === null || Array.isArray(app)) {
    const hint = typeof app === "function" ? " (a function? export default { fetch: yourFunction })" : "";
    throw new AppModuleError(file, `the default export must be an object with a fetch method, not ${describe(app)}${hint}`);
  }
  const method = (name: keyof AppModule, required: boolean) => {
    const value = app[name];
    if (value === undefined && !required) return undefined;
    if (value === undefined)
      throw new AppModuleError(file, `the default export has no ${name}; it needs ${name}(request, info) returning a Response`);
    if (typeof value !== "function") throw new AppModuleError(file, `${name} must be a function, not ${describe(value)}`);
    return value.bind(app);
  };
  const fetch = method("fetch", true) as FetchHandler;
  const { port, hostname, websocket } = app;
  if (port !== undefined && !(typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new AppModuleError(file, `port must be an integer from 0 to 65535 (0 picks a free one), not ${describe(port)}`);
  }
  if (hostname !== undefined && (typeof hostname !== "string" || hostname === "")) {
    throw new AppModuleError(file, `hostname must be a host name or address such as "127.0.0.1", not ${describe(hostname)}`);
  }
  if (websocket !== undefined && (typeof websocket !== "object" || websocket === null)) {
    throw new AppModuleError(file, `websocket must be an object of handlers ({ open, message, close }), not ${describe(websocket)}`);
  }
  return {
    fetch,
    websocket: websocket as AppModule["websocket"],
    port: port as number | undefined,
    hostname: hostname as string | undefined,
    onListen: method("onListen", false) as AppModule["onListen"],
    onError: method("onError", false) as AppModule["onError"],
  };
}
