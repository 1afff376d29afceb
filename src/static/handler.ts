/**
 * `serveStatic(root, options)`: a fetch handler that serves files from a FileSource (source.ts) — a directory on
 * Node/Deno/Bun, files in memory or in the signed bundle, a picked folder — the way sirv, serve-handler and Deno's
 * serveDir do: Content-Type, weak ETag and Last-Modified with 304s, single byte ranges (206/416, If-Range), HEAD,
 * index.html and the trailing-slash redirect, optional listings, dotfiles hidden, streamed with backpressure.
 * Web APIs only: this module runs in the browser too (a string root loads the directory source only on first use).
 *
 * Paths are checked before any source sees them:
 * - 400 for a path that cannot name a file below the root: malformed percent-encoding, an encoded "/" or "\\"
 *   (%2f, %5c), a literal "\\", NUL or any other control character, "." or ".." segments (also %2e%2e, as sent on
 *   the request line), empty segments ("//", which would make an absolute path).
 * - 404 for a path that could, but names nothing that may be served: missing, a dotfile (unless `dotfiles`),
 *   a symlink that leads out of the root, a file asked for with a trailing slash, a directory without index.
 * With `onNoMatch`, all of these (and methods other than GET and HEAD) go to it instead: the app may own those URLs.
 */
import mime from "mime/lite";
import { FastResponse } from "../http/fast-response.js";
import { requestTarget } from "../http/request.js";
import type { ServeInfo } from "../server/serve.js";
import { pathOf, searchOf } from "../shared/url-target.js";
import { directorySource } from "./directory-source.js";
import type { DirectoryEntry, FileSource, FileStat } from "./source.js";

export interface ServeStaticOptions<R extends Response | undefined = Response> {
  /** File names tried in a directory, in order; default ["index.html"]; false: none. */
  index?: readonly string[] | false;
  /** An HTML listing for a directory without an index file; default false. */
  listing?: boolean;
  /** Serve (and list) names starting with "."; default false (404). ".well-known" is always served. */
  dotfiles?: boolean;
  /** Extensions tried for a path that names nothing, e.g. ["html"]: "/about" serves about.html; default none. */
  extensions?: readonly string[];
  /** Cache-Control for files (and their 304s): a value, or one per file; default none. */
  cacheControl?: string | ((path: string, stat: FileStat) => string | undefined);
  /** Weak ETag from size and mtime, and If-None-Match; default true. */
  etag?: boolean;
  /** Last-Modified and If-Modified-Since; default true. */
  lastModified?: boolean;
  /** Serve only below this URL path ("/static/"), which is taken off before the lookup; default "/". */
  prefix?: string;
  /**
   * Answers what the handler does not serve: a path that names no servable file (404), a path that cannot name one
   * (400), a method other than GET or HEAD (405). Default: those statuses. Pass your app's fetch to put the files
   * in front of it, or `() => undefined` to get `undefined` back and decide yourself.
   */
  onNoMatch?(request: Request, info?: ServeInfo): R | Promise<R>;
}

export type StaticHandler<R extends Response | undefined = Response> = (request: Request, info?: ServeInfo) => Promise<Response | R>;

/** Refusals, each with the status it gets when there is no `onNoMatch`. */
type NoMatch = 400 | 404 | 405;

const TEXT_PLAIN = "text/plain; charset=utf-8";
const REASONS: Record<NoMatch, string> = { 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed" };
/** Types that are text without saying so in their name. */
const UTF8_TYPES = new Set(["application/javascript", "application/json", "application/manifest+json", "application/xml", "image/svg+xml"]);
const EXTRA_TYPES: Record<string, string> = { ico: "image/x-icon" };

export function contentTypeOf(name: string): string {
  const extension = name.slice(name.lastIndexOf(".") + 1).toLowerCase();
  const type = (name.includes(".") ? (mime.getType(extension) ?? EXTRA_TYPES[extension]) : undefined) ?? "application/octet-stream";
  return type.startsWith("text/") || UTF8_TYPES.has(type) ? `${type}; charset=utf-8` : type;
}

/**
 * The decoded names of an encoded absolute path, or "bad" when it cannot name a file below a root. A trailing
 * slash leaves a final "" (the only empty name allowed).
 */
export function pathNames(pathname: string): string[] | "bad" {
  if (!pathname.startsWith("/")) return "bad";
  const raw = pathname.slice(1).split("/");
  const names: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const segment = raw[i]!;
    if (segment === "") {
      if (i === raw.length - 1) {
        names.push("");
        continue;
      }
      return "bad";
    }
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      return "bad";
    }
    if (name === "." || name === ".." || /[/\\\u0000-\u001f\u007f]/.test(name)) return "bad";
    names.push(name);
  }
  return names;
}

/** The path of a request target as sent (origin-form or absolute-form), undefined for others ("*"). */
function targetPath(target: string): string | undefined {
  let path = target;
  if (!path.startsWith("/")) {
    const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(path);
    if (!authority) return undefined;
    path = path.slice(authority[0].length) || "/";
  }
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

/** Last-Modified values by the second they name: a site's files share few, and formatting a Date costs µs. */
const httpDates = new Map<number, string>();
const MAX_HTTP_DATES = 256;

function httpDateAt(ms: number): string {
  let text = httpDates.get(ms);
  if (text === undefined) {
    if (httpDates.size >= MAX_HTTP_DATES) httpDates.clear();
    text = new Date(ms).toUTCString();
    httpDates.set(ms, text);
  }
  return text;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Weak ETag from size and mtime: `W/"size-mtime"`, as sirv writes it. */
export function weakEtag(stat: FileStat): string | undefined {
  if (stat.mtimeMs === undefined || !Number.isFinite(stat.mtimeMs)) return undefined;
  return `W/"${stat.size}-${Math.trunc(stat.mtimeMs)}"`;
}

function opaqueTag(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** If-None-Match: "*" or a list of entity tags, compared weakly. */
function noneMatch(header: string, etag: string | undefined): boolean {
  if (header.trim() === "*") return true;
  if (!etag) return false;
  const wanted = opaqueTag(etag);
  return header.split(",").some((tag) => opaqueTag(tag.trim()) === wanted);
}

type RangeAnswer = { start: number; end: number } | "unsatisfiable" | undefined;

/**
 * One byte range of `size` bytes from a Range header: [start, end) to send, "unsatisfiable" (416), or undefined to
 * ignore the header and send everything (a malformed header, several ranges, another unit, an empty file).
 */
export function parseRange(header: string, size: number): RangeAnswer {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return "unsatisfiable";
    if (size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: last === "" ? size : Math.min(size, Number(last) + 1) };
}

function listingPage(path: string, entries: DirectoryEntry[], atRoot: boolean): string {
  const title = escapeHtml(`Index of ${path}`);
  const rows = entries
    .sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind === "directory" ? -1 : 1))
    .map((entry) => {
      const slash = entry.kind === "directory" ? "/" : "";
      const size = entry.kind === "file" && entry.size !== undefined ? ` <small>${entry.size} bytes</small>` : "";
      return `<li><a href="${escapeHtml(encodeURIComponent(entry.name))}${slash}">${escapeHtml(entry.name)}${slash}</a>${size}</li>`;
    });
  if (!atRoot) rows.unshift(`<li><a href="../">../</a></li>`);
  return `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n<h1>${title}</h1>\n<ul>\n${rows.join("\n")}\n</ul>\n</body>\n</html>\n`;
}

/**
 * A fetch handler serving `root`: a directory path (Node, Deno and Bun) or any FileSource
 * (`filesSource(...)`, `directoryHandleSource(handle)`, `directorySource(path)`).
 */
export function serveStatic<R extends Response | undefined = Response>(
  root: string | FileSource,
  options: ServeStaticOptions<R> = {},
): StaticHandler<R> {
  const source = typeof root === "string" ? directorySource(root) : root;
  const indexNames = options.index === false ? [] : [...(options.index ?? ["index.html"])];
  const extensions = [...(options.extensions ?? [])];
  const useEtag = options.etag ?? true;
  const useLastModified = options.lastModified ?? true;
  let prefix = options.prefix ?? "/";
  if (!prefix.startsWith("/")) prefix = `/${prefix}`;
  if (!prefix.endsWith("/")) prefix += "/";

  const noMatch = async (request: Request, info: ServeInfo | undefined, status: NoMatch): Promise<Response | R> => {
    if (options.onNoMatch) return options.onNoMatch(request, info);
    const headers = new Headers({ "content-type": TEXT_PLAIN });
    if (status === 405) headers.set("allow", "GET, HEAD");
    return new Response(`${REASONS[status]}\n`, { status, headers });
  };

  const hidden = (names: readonly string[]) =>
    !options.dotfiles && names.some((name, i) => name.startsWith(".") && !(i === 0 && name === ".well-known"));

  const cacheControlOf = (names: readonly string[], stat: FileStat): string | undefined =>
    typeof options.cacheControl === "function" ? options.cacheControl(`/${names.join("/")}`, stat) : options.cacheControl;

  /** The file's response; undefined when it went away before it could be opened. */
  async function serveFile(request: Request, names: string[], stat: FileStat): Promise<Response | undefined> {
    // Field lines rather than a Headers object: in Chromium each Headers call crosses into the browser's C++, and a
    // small file's whole answer costs less than the half-dozen of them.
    const fields: Array<[string, string]> = [];
    const etag = useEtag ? weakEtag(stat) : undefined;
    // HTTP dates have whole seconds: compare what was sent.
    const lastModifiedSeconds =
      useLastModified && stat.mtimeMs !== undefined && Number.isFinite(stat.mtimeMs) ? Math.floor(stat.mtimeMs / 1000) * 1000 : undefined;
    if (etag) fields.push(["etag", etag]);
    if (lastModifiedSeconds !== undefined) fields.push(["last-modified", httpDateAt(lastModifiedSeconds)]);
    const cacheControl = cacheControlOf(names, stat);
    if (cacheControl) fields.push(["cache-control", cacheControl]);

    // RFC 9110 §13.2.2: If-None-Match, and only without it If-Modified-Since.
    const ifNoneMatch = request.headers.get("if-none-match");
    const ifModifiedSince = request.headers.get("if-modified-since");
    if (
      ifNoneMatch !== null
        ? noneMatch(ifNoneMatch, etag)
        : ifModifiedSince !== null && lastModifiedSeconds !== undefined && lastModifiedSeconds <= Date.parse(ifModifiedSince)
    ) {
      return new Response(null, { status: 304, headers: fields });
    }

    const size = stat.size;
    let range: RangeAnswer;
    const rangeHeader = request.headers.get("range");
    // Range is defined for GET only; If-Range needs a strong validator: a weak ETag never matches, a date must equal.
    if (rangeHeader !== null && request.method === "GET") {
      const ifRange = request.headers.get("if-range");
      const validated =
        ifRange === null ||
        (!/^\s*(W\/)?"/.test(ifRange) && lastModifiedSeconds !== undefined && Date.parse(ifRange) === lastModifiedSeconds);
      if (validated) range = parseRange(rangeHeader, size);
    }
    if (range === "unsatisfiable") {
      fields.push(["accept-ranges", "bytes"], ["content-range", `bytes */${size}`]);
      return new Response(null, { status: 416, headers: fields });
    }
    const { start, end } = range ?? { start: 0, end: size };
    fields.push(
      ["content-type", contentTypeOf(names[names.length - 1]!)],
      ["accept-ranges", "bytes"],
      ["content-length", String(end - start)],
    );
    if (range) fields.push(["content-range", `bytes ${start}-${end - 1}/${size}`]);
    const status = range ? 206 : 200;
    if (request.method === "HEAD" || end === start) return new Response(null, { status, headers: fields });
    let body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | undefined;
    try {
      body = (await source.wholeRange?.(names, start, end)) ?? (await source.open(names, start, end));
    } catch (error) {
      // Gone since stat(): as if it had never been there; anything else is the source failing.
      if ((await source.stat(names)) === undefined) return undefined;
      throw error;
    }
    // Bytes in hand are written in one piece (FastResponse); a stream is read as the client takes it.
    if (body instanceof Uint8Array) return new FastResponse(body, { status, headers: fields });
    return new Response(body, { status, headers: fields });
  }

  async function serveListing(request: Request, names: string[], pathname: string): Promise<Response> {
    const entries = (await source.list!(names)).filter((entry) => options.dotfiles || !entry.name.startsWith("."));
    const body = new TextEncoder().encode(listingPage(pathname, entries, names.length === 0));
    const headers = new Headers({ "content-type": "text/html; charset=utf-8", "content-length": String(body.length) });
    return new Response(request.method === "HEAD" ? null : body, { headers });
  }

  return async (request: Request, info?: ServeInfo): Promise<Response | R> => {
    if (request.method !== "GET" && request.method !== "HEAD") return noMatch(request, info, 405);
    const urlPath = pathOf(request.url);
    // The target as sent, when the server made this request: the URL parser has already resolved ".." and
    // "%2e%2e" and turned "\\" into "/" in request.url, and a traversal attempt should be refused, not served.
    const target = requestTarget(request);
    const sentPath = target === undefined ? undefined : targetPath(target);
    const sentNames = sentPath === undefined ? undefined : pathNames(sentPath);
    if (sentNames === "bad") return noMatch(request, info, 400);

    let pathname = urlPath;
    if (prefix !== "/") {
      if (`${pathname}/` === prefix) return redirect(`${pathname}/${searchOf(request.url)}`);
      if (!pathname.startsWith(prefix)) return noMatch(request, info, 404);
      pathname = pathname.slice(prefix.length - 1);
    }
    // Usually the path as sent is the URL's: checked once.
    const parsed = sentNames !== undefined && sentPath === pathname ? sentNames : pathNames(pathname);
    if (parsed === "bad") return noMatch(request, info, 400);
    const trailingSlash = parsed[parsed.length - 1] === "";
    const names = trailingSlash ? parsed.slice(0, -1) : parsed;
    if (hidden(names)) return noMatch(request, info, 404);

    let stat = await source.stat(names);
    let fileNames = names;
    if (!stat && !trailingSlash && names.length > 0) {
      for (const extension of extensions) {
        const candidate = [...names.slice(0, -1), `${names[names.length - 1]}.${extension}`];
        const found = await source.stat(candidate);
        if (found?.kind === "file") {
          [stat, fileNames] = [found, candidate];
          break;
        }
      }
    }
    if (!stat) return noMatch(request, info, 404);

    if (stat.kind === "file") {
      if (trailingSlash) return noMatch(request, info, 404);
      return (await serveFile(request, fileNames, stat)) ?? noMatch(request, info, 404);
    }
    if (!trailingSlash) return redirect(`${urlPath}/${searchOf(request.url)}`);
    for (const index of indexNames) {
      const indexPath = [...names, index];
      const indexStat = await source.stat(indexPath);
      if (indexStat?.kind === "file") return (await serveFile(request, indexPath, indexStat)) ?? noMatch(request, info, 404);
    }
    if (options.listing && source.list) return serveListing(request, names, `${prefix}${names.map((name) => `${name}/`).join("")}`);
    return noMatch(request, info, 404);
  };
}

/** 301 to the same path with the slash added (GET and HEAD only reach here, so 301 keeps the method). */
function redirect(location: string): Response {
  const body = `Moved Permanently: ${location}\n`;
  return new Response(body, { status: 301, headers: { location, "content-type": TEXT_PLAIN } });
}
