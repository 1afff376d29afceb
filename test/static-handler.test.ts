/**
 * serveStatic over each of its three sources — a directory on disk (Node), files given as a map (the bundle's
 * case), and a File System Access directory handle (an in-memory stand-in) — served by browser-httpd's serve() on
 * Node and asked with real clients: fetch for the case table (status and headers per case), raw bytes on a socket
 * for the traversal refusals (clients would normalize those paths away), curl for a few.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  serveStatic,
  directorySource,
  filesSource,
  directoryHandleSource,
  type FileSource,
  type ServeStaticOptions,
  type StaticHandler,
} from "../src/index.js";
import { contentTypeOf, parseRange, pathNames } from "../src/static/handler.js";
import { curl, exchange, startServer, stopServer, withTimeout } from "./fixtures/http/harness.js";
import type { Server } from "../src/index.js";
import {
  BIG_SIZE,
  bytesOf,
  fileMap,
  MemoryDirectoryHandle,
  MTIME_MS,
  pattern,
  SECRET,
  writeTree,
  type DiskTree,
} from "./fixtures/static/tree.js";

const ETAG = (path: string) => `W/"${bytesOf(path).length}-${MTIME_MS}"`;
const LAST_MODIFIED = new Date(MTIME_MS).toUTCString();

/** Each variant is served on the same server, picked by the x-variant request header. */
const VARIANTS: Record<string, ServeStaticOptions<Response | undefined>> = {
  default: {},
  listing: { listing: true },
  dotfiles: { dotfiles: true, listing: true },
  cache: { cacheControl: "public, max-age=60" },
  cacheByPath: { cacheControl: (path) => (path.endsWith(".css") ? "public, max-age=31536000, immutable" : undefined) },
  extensions: { extensions: ["html"] },
  prefix: { prefix: "/static" },
  noIndex: { index: false },
  noValidators: { etag: false, lastModified: false },
  noMatch: { onNoMatch: (request) => new Response(`app: ${request.method} ${new URL(request.url).pathname}`, { status: 299 }) },
  fallthrough: { onNoMatch: () => undefined },
};

interface Case {
  name: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  variant?: string;
  status: number;
  /** Expected header values; null: must be absent. */
  expect?: Record<string, string | RegExp | null>;
  /** Expected body (GET). */
  body?: string | Uint8Array;
}

const fileHeaders = (path: string, type: string) => ({
  "content-type": type,
  "content-length": String(bytesOf(path).length),
  etag: ETAG(path),
  "last-modified": LAST_MODIFIED,
  "accept-ranges": "bytes",
  "cache-control": null,
});

const range = (start: number, endInclusive: number) => ({
  status: 206,
  expect: {
    "content-range": `bytes ${start}-${endInclusive}/${BIG_SIZE}`,
    "content-length": String(endInclusive - start + 1),
    "content-type": "application/octet-stream",
    etag: ETAG("big.bin"),
  },
  body: pattern(endInclusive - start + 1, start),
});

const CASES: Case[] = [
  {
    name: "a text file",
    path: "/hello.txt",
    status: 200,
    expect: fileHeaders("hello.txt", "text/plain; charset=utf-8"),
    body: bytesOf("hello.txt"),
  },
  {
    name: "HEAD: the same headers, no body",
    path: "/hello.txt",
    method: "HEAD",
    status: 200,
    expect: fileHeaders("hello.txt", "text/plain; charset=utf-8"),
    body: "",
  },
  { name: "CSS", path: "/style.css", status: 200, expect: fileHeaders("style.css", "text/css; charset=utf-8") },
  { name: "JavaScript", path: "/app.js", status: 200, expect: fileHeaders("app.js", "text/javascript; charset=utf-8") },
  { name: "JSON", path: "/data.json", status: 200, expect: fileHeaders("data.json", "application/json; charset=utf-8") },
  { name: "PNG", path: "/image.png", status: 200, expect: fileHeaders("image.png", "image/png"), body: bytesOf("image.png") },
  {
    name: "SVG in a folder",
    path: "/assets/logo.svg",
    status: 200,
    expect: fileHeaders("assets/logo.svg", "image/svg+xml; charset=utf-8"),
  },
  {
    name: "1 MiB, whole",
    path: "/big.bin",
    status: 200,
    expect: fileHeaders("big.bin", "application/octet-stream"),
    body: bytesOf("big.bin"),
  },
  { name: "an empty file", path: "/empty.txt", status: 200, expect: { "content-length": "0", etag: ETAG("empty.txt") }, body: "" },
  { name: "percent-encoded name", path: "/assets/a%20b%26c%3Cd%3E.txt", status: 200, body: "odd name\n" },
  { name: "UTF-8 name", path: "/assets/%C3%BCn%C3%AF.txt", status: 200, body: "unicode name\n" },
  {
    name: "/ serves index.html",
    path: "/",
    status: 200,
    expect: fileHeaders("index.html", "text/html; charset=utf-8"),
    body: bytesOf("index.html"),
  },
  {
    name: "a folder's index.html",
    path: "/docs/",
    status: 200,
    expect: { etag: ETAG("docs/index.html") },
    body: bytesOf("docs/index.html"),
  },
  {
    name: "HEAD of an index",
    path: "/docs/",
    method: "HEAD",
    status: 200,
    expect: { "content-length": String(bytesOf("docs/index.html").length) },
    body: "",
  },
  { name: "a folder without the slash: 301", path: "/docs", status: 301, expect: { location: "/docs/" } },
  { name: "the redirect keeps the query", path: "/docs?x=1&y=%20", status: 301, expect: { location: "/docs/?x=1&y=%20" } },
  { name: "HEAD gets the redirect too", path: "/docs", method: "HEAD", status: 301, expect: { location: "/docs/" } },
  { name: "a folder without index, no listing", path: "/assets/", status: 404 },
  { name: "missing", path: "/missing.txt", status: 404, expect: { "content-type": "text/plain; charset=utf-8" } },
  { name: "a file with a trailing slash", path: "/hello.txt/", status: 404 },
  { name: "a path through a file", path: "/hello.txt/x", status: 404 },
  { name: "no extension guessing by default", path: "/about", status: 404 },
  { name: "dotfile", path: "/.env", status: 404 },
  { name: "dot folder", path: "/.hidden/inside.txt", status: 404 },
  { name: "dot folder itself", path: "/.hidden/", status: 404 },
  { name: ".well-known is served", path: "/.well-known/security.txt", status: 200, body: bytesOf(".well-known/security.txt") },
  { name: "POST: 405 with Allow", path: "/hello.txt", method: "POST", status: 405, expect: { allow: "GET, HEAD" } },
  { name: "DELETE of a missing file: 405 too", path: "/nothing", method: "DELETE", status: 405, expect: { allow: "GET, HEAD" } },
  // Validators.
  {
    name: "If-None-Match with the ETag: 304",
    path: "/hello.txt",
    headers: { "if-none-match": ETAG("hello.txt") },
    status: 304,
    expect: { etag: ETAG("hello.txt"), "last-modified": LAST_MODIFIED, "content-length": null },
    body: "",
  },
  { name: "If-None-Match compares weakly", path: "/hello.txt", headers: { "if-none-match": ETAG("hello.txt").slice(2) }, status: 304 },
  { name: "If-None-Match: a list", path: "/hello.txt", headers: { "if-none-match": `"a", ${ETAG("hello.txt")} , W/"b"` }, status: 304 },
  { name: "If-None-Match: *", path: "/hello.txt", headers: { "if-none-match": "*" }, status: 304 },
  {
    name: "If-None-Match: another tag",
    path: "/hello.txt",
    headers: { "if-none-match": 'W/"21-1"' },
    status: 200,
    body: bytesOf("hello.txt"),
  },
  {
    name: "If-Modified-Since = Last-Modified: 304",
    path: "/hello.txt",
    headers: { "if-modified-since": LAST_MODIFIED },
    status: 304,
    expect: { etag: ETAG("hello.txt") },
  },
  {
    name: "If-Modified-Since later: 304",
    path: "/hello.txt",
    headers: { "if-modified-since": new Date(MTIME_MS + 86_400_000).toUTCString() },
    status: 304,
  },
  {
    name: "If-Modified-Since earlier: 200",
    path: "/hello.txt",
    headers: { "if-modified-since": new Date(MTIME_MS - 1000).toUTCString() },
    status: 200,
  },
  { name: "If-Modified-Since unparsable: 200", path: "/hello.txt", headers: { "if-modified-since": "yesterday" }, status: 200 },
  {
    name: "If-None-Match wins over If-Modified-Since",
    path: "/hello.txt",
    headers: { "if-none-match": 'W/"x"', "if-modified-since": LAST_MODIFIED },
    status: 200,
  },
  { name: "304 on an index file", path: "/", headers: { "if-none-match": ETAG("index.html") }, status: 304 },
  // Ranges.
  { name: "Range 0-99", path: "/big.bin", headers: { range: "bytes=0-99" }, ...range(0, 99) },
  { name: "Range from an offset to the end", path: "/big.bin", headers: { range: "bytes=1000-" }, ...range(1000, BIG_SIZE - 1) },
  { name: "Range suffix", path: "/big.bin", headers: { range: "bytes=-500" }, ...range(BIG_SIZE - 500, BIG_SIZE - 1) },
  {
    name: "Range suffix longer than the file",
    path: "/hello.txt",
    headers: { range: "bytes=-1000" },
    status: 206,
    expect: { "content-range": "bytes 0-20/21" },
    body: bytesOf("hello.txt"),
  },
  { name: "Range end past the end is clamped", path: "/big.bin", headers: { range: "bytes=5-99999999999" }, ...range(5, BIG_SIZE - 1) },
  {
    name: "Range of the last byte",
    path: "/big.bin",
    headers: { range: `bytes=${BIG_SIZE - 1}-${BIG_SIZE - 1}` },
    ...range(BIG_SIZE - 1, BIG_SIZE - 1),
  },
  { name: "Range with spaces and BYTES", path: "/big.bin", headers: { range: "BYTES = 10 - 19" }, ...range(10, 19) },
  {
    name: "Range starting at the size: 416",
    path: "/big.bin",
    headers: { range: `bytes=${BIG_SIZE}-` },
    status: 416,
    expect: { "content-range": `bytes */${BIG_SIZE}`, "content-length": "0" },
    body: "",
  },
  {
    name: "Range suffix 0: 416",
    path: "/big.bin",
    headers: { range: "bytes=-0" },
    status: 416,
    expect: { "content-range": `bytes */${BIG_SIZE}` },
  },
  {
    name: "Range on an empty file: 416",
    path: "/empty.txt",
    headers: { range: "bytes=0-" },
    status: 416,
    expect: { "content-range": "bytes */0" },
  },
  {
    name: "several ranges: the whole file",
    path: "/big.bin",
    headers: { range: "bytes=0-1,5-6" },
    status: 200,
    expect: { "content-length": String(BIG_SIZE), "content-range": null },
  },
  {
    name: "a malformed Range is ignored",
    path: "/hello.txt",
    headers: { range: "bytes=abc" },
    status: 200,
    expect: { "content-range": null },
  },
  { name: "another unit is ignored", path: "/hello.txt", headers: { range: "items=0-5" }, status: 200 },
  { name: "last < first is ignored", path: "/hello.txt", headers: { range: "bytes=10-5" }, status: 200 },
  {
    name: "If-Range with Last-Modified: 206",
    path: "/big.bin",
    headers: { range: "bytes=0-99", "if-range": LAST_MODIFIED },
    ...range(0, 99),
  },
  {
    name: "If-Range with an older date: 200",
    path: "/big.bin",
    headers: { range: "bytes=0-99", "if-range": new Date(MTIME_MS - 1000).toUTCString() },
    status: 200,
    expect: { "content-length": String(BIG_SIZE) },
  },
  {
    name: "If-Range with the weak ETag: 200 (needs a strong one)",
    path: "/big.bin",
    headers: { range: "bytes=0-99", "if-range": ETAG("big.bin") },
    status: 200,
    expect: { "content-length": String(BIG_SIZE) },
  },
  {
    name: "HEAD ignores Range",
    path: "/big.bin",
    method: "HEAD",
    headers: { range: "bytes=0-99" },
    status: 200,
    expect: { "content-length": String(BIG_SIZE), "content-range": null },
  },
  { name: "If-None-Match before Range", path: "/big.bin", headers: { range: "bytes=0-99", "if-none-match": ETAG("big.bin") }, status: 304 },
  // Options.
  {
    name: "listing: escaped names, links, folders first, dotfiles hidden",
    variant: "listing",
    path: "/assets/",
    status: 200,
    expect: { "content-type": "text/html; charset=utf-8" },
  },
  { name: "listing of the root", variant: "listing", path: "/", status: 200, body: bytesOf("index.html") },
  { name: "listing still hides dot folders", variant: "listing", path: "/.hidden/", status: 404 },
  { name: "dotfiles: true", variant: "dotfiles", path: "/.env", status: 200, body: "SECRET=1\n" },
  { name: "dotfiles: true, in a dot folder", variant: "dotfiles", path: "/.hidden/inside.txt", status: 200 },
  { name: "cacheControl", variant: "cache", path: "/hello.txt", status: 200, expect: { "cache-control": "public, max-age=60" } },
  {
    name: "cacheControl on a 304",
    variant: "cache",
    path: "/hello.txt",
    headers: { "if-none-match": ETAG("hello.txt") },
    status: 304,
    expect: { "cache-control": "public, max-age=60" },
  },
  {
    name: "cacheControl per path",
    variant: "cacheByPath",
    path: "/style.css",
    status: 200,
    expect: { "cache-control": "public, max-age=31536000, immutable" },
  },
  { name: "cacheControl per path: none", variant: "cacheByPath", path: "/hello.txt", status: 200, expect: { "cache-control": null } },
  {
    name: "extensions",
    variant: "extensions",
    path: "/about",
    status: 200,
    expect: { "content-type": "text/html; charset=utf-8" },
    body: bytesOf("about.html"),
  },
  { name: "extensions: not for a trailing slash", variant: "extensions", path: "/about/", status: 404 },
  { name: "prefix", variant: "prefix", path: "/static/hello.txt", status: 200, body: bytesOf("hello.txt") },
  { name: "prefix: outside it", variant: "prefix", path: "/hello.txt", status: 404 },
  { name: "prefix: its folder without the slash", variant: "prefix", path: "/static", status: 301, expect: { location: "/static/" } },
  { name: "prefix: a folder below", variant: "prefix", path: "/static/docs", status: 301, expect: { location: "/static/docs/" } },
  { name: "prefix: the index", variant: "prefix", path: "/static/", status: 200, body: bytesOf("index.html") },
  { name: "index: false", variant: "noIndex", path: "/", status: 404 },
  { name: "no validators", variant: "noValidators", path: "/hello.txt", status: 200, expect: { etag: null, "last-modified": null } },
  {
    name: "no validators: If-Modified-Since is ignored",
    variant: "noValidators",
    path: "/hello.txt",
    headers: { "if-modified-since": LAST_MODIFIED },
    status: 200,
  },
  { name: "onNoMatch: a missing file", variant: "noMatch", path: "/api/users", status: 299, body: "app: GET /api/users" },
  { name: "onNoMatch: another method", variant: "noMatch", path: "/hello.txt", method: "POST", status: 299, body: "app: POST /hello.txt" },
  { name: "onNoMatch: a dotfile", variant: "noMatch", path: "/.env", status: 299 },
  { name: "onNoMatch: files still served", variant: "noMatch", path: "/hello.txt", status: 200, body: bytesOf("hello.txt") },
  { name: "onNoMatch returning undefined", variant: "fallthrough", path: "/api", status: 298, body: "undefined" },
];

interface Traversal {
  target: string;
  status: 400 | 404;
}

/** Request targets that try to leave the root, sent byte for byte. */
const TRAVERSALS: Traversal[] = [
  { target: "/../outside/secret.txt", status: 400 },
  { target: "/docs/../../outside/secret.txt", status: 400 },
  { target: "/%2e%2e/outside/secret.txt", status: 400 },
  { target: "/%2E%2E/outside/secret.txt", status: 400 },
  { target: "/.%2e/outside/secret.txt", status: 400 },
  { target: "/docs/%2e%2e", status: 400 },
  { target: "/..%2foutside%2fsecret.txt", status: 400 },
  { target: "/..%2Foutside/secret.txt", status: 400 },
  { target: "/%2foutside/secret.txt", status: 400 },
  { target: "/..%5coutside%5csecret.txt", status: 400 },
  { target: "/..\\outside\\secret.txt", status: 400 },
  { target: "/docs\\..\\..\\outside\\secret.txt", status: 400 },
  { target: "/hello.txt%00.png", status: 400 },
  { target: "/%00", status: 400 },
  { target: "/%0a", status: 400 },
  { target: "//etc/passwd", status: 400 },
  { target: "/docs//guide.html", status: 400 },
  { target: "/./hello.txt", status: 400 },
  { target: "/%zz", status: 400 },
  { target: "/%c0%ae%c0%ae/outside/secret.txt", status: 400 },
  { target: "http://127.0.0.1/../outside/secret.txt", status: 400 },
  { target: "http://127.0.0.1/%2e%2e/outside/secret.txt", status: 400 },
  { target: "/%252e%252e/outside/secret.txt", status: 404 },
  { target: "/outside/secret.txt", status: 404 },
  { target: "/etc/passwd", status: 404 },
];

/** Only the directory source has symlinks. */
const SYMLINK_CASES: Array<{ target: string; status: number; body?: string; location?: string }> = [
  { target: "/link-outside", status: 404 },
  { target: "/link-absolute", status: 404 },
  { target: "/link-dir-outside/secret.txt", status: 404 },
  { target: "/link-dir-outside/", status: 404 },
  { target: "/link-dir-outside", status: 404 },
  { target: "/link-inside", status: 200, body: "Hello, static world!\n" },
  { target: "/link-docs/guide.html", status: 200, body: "<!doctype html>\n<title>guide</title>\n" },
  { target: "/link-docs", status: 301, location: "/link-docs/" },
];

function equalBytes(actual: Uint8Array, expected: string | Uint8Array, what: string): void {
  const want = typeof expected === "string" ? new TextEncoder().encode(expected) : expected;
  assert.equal(actual.length, want.length, `${what}: body length`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(want)), `${what}: body bytes`);
}

interface SourceUnderTest {
  name: string;
  make(tree: DiskTree): FileSource;
  symlinks: boolean;
}

const SOURCES: SourceUnderTest[] = [
  { name: "directory (node:fs)", make: (tree) => directorySource(tree.root), symlinks: true },
  { name: "map of files (the bundle's case)", make: () => filesSource(fileMap()), symlinks: false },
  {
    name: "File System Access handle (in-memory stand-in)",
    make: () => directoryHandleSource(MemoryDirectoryHandle.fromFiles(fileMap())),
    symlinks: false,
  },
];

let tree: DiskTree;
before(async () => {
  tree = await writeTree();
});
after(async () => {
  await tree?.remove();
});

for (const sourceUnderTest of SOURCES) {
  describe(`serveStatic over the ${sourceUnderTest.name} source, served by serve() on Node`, { timeout: 60_000 }, () => {
    let server: Server;
    let base: string;

    before(async () => {
      const source = sourceUnderTest.make(tree);
      const handlers = new Map<string, StaticHandler<Response | undefined>>(
        Object.entries(VARIANTS).map(([name, options]) => [name, serveStatic(source, options)]),
      );
      server = await startServer(async (request, info) => {
        const handler = handlers.get(request.headers.get("x-variant") ?? "default")!;
        return (await handler(request, info)) ?? new Response("undefined", { status: 298 });
      });
      base = `http://127.0.0.1:${server.port}`;
    });
    after(() => stopServer(server));

    for (const c of CASES) {
      it(`${c.method ?? "GET"} ${c.path}${c.variant ? ` [${c.variant}]` : ""}: ${c.name} → ${c.status}`, async () => {
        const headers: Record<string, string> = { ...c.headers };
        if (c.variant) headers["x-variant"] = c.variant;
        const response = await fetch(base + c.path, { method: c.method ?? "GET", headers, redirect: "manual" });
        const body = new Uint8Array(await response.arrayBuffer());
        assert.equal(response.status, c.status, `status; body ${new TextDecoder().decode(body.subarray(0, 200))}`);
        for (const [name, expected] of Object.entries(c.expect ?? {})) {
          const actual = response.headers.get(name);
          if (expected === null) assert.equal(actual, null, `${name} must be absent`);
          else if (expected instanceof RegExp) assert.match(actual ?? "", expected, name);
          else assert.equal(actual, expected, name);
        }
        if (c.body !== undefined) equalBytes(body, c.body, c.name);
        if (c.status === 200 && c.method !== "HEAD") assert.equal(response.headers.get("content-length"), String(body.length));
      });
    }

    it("the listing: names HTML-escaped, hrefs percent-encoded, folders first, no dotfiles, a parent link", async () => {
      const html = await (await fetch(`${base}/assets/`, { headers: { "x-variant": "listing" } })).text();
      assert.match(html, /<title>Index of \/assets\/<\/title>/);
      assert.match(html, /<a href="a%20b%26c%3Cd%3E\.txt">a b&#38;c&#60;d&#62;\.txt<\/a>/);
      assert.match(html, /<a href="%C3%BCn%C3%AF\.txt">ünï\.txt<\/a>/);
      assert.match(html, /<a href="\.\.\/">/);
      assert.ok(!html.includes("<d>"), "no raw markup from a name");
      const root = await (await fetch(`${base}/`, { headers: { "x-variant": "listing" } })).text();
      assert.match(root, /root index/, "an index.html wins over the listing");
      const docs = await (await fetch(`${base}/docs/`, { headers: { "x-variant": "noIndex" } })).status;
      assert.equal(docs, 404);
    });

    it("the root listing hides dotfiles (and, on disk, symlinks out of the root) unless dotfiles is set", async () => {
      // index: false through a dotfiles/listing variant is not configured; list a folder that has no index.
      const handler = serveStatic(sourceUnderTest.make(tree), { listing: true, index: false });
      const html = await (await handler(new Request("http://x/"))).text();
      assert.match(html, /<a href="docs\/">docs\/<\/a>/);
      assert.match(html, /<a href="hello\.txt">hello\.txt<\/a>/);
      assert.ok(html.indexOf("docs/") < html.indexOf("hello.txt"), "folders first");
      assert.ok(!html.includes(".env") && !html.includes(".hidden") && !html.includes(".well-known"), html);
      assert.ok(!html.includes('href="../"'), "no parent link at the root");
      if (sourceUnderTest.symlinks) {
        assert.match(html, /link-inside/);
        assert.match(html, /<a href="link-docs\/">/);
        assert.ok(!html.includes("link-outside") && !html.includes("link-absolute") && !html.includes("link-dir-outside"), html);
      }
      const withDots = await (
        await serveStatic(sourceUnderTest.make(tree), { listing: true, index: false, dotfiles: true })(new Request("http://x/"))
      ).text();
      assert.match(withDots, /\.env/);
      assert.match(withDots, /\.hidden\//);
    });

    it("traversal attempts are refused (400) or find nothing (404), and the secret never comes back", async () => {
      const results: string[] = [];
      for (const { target } of TRAVERSALS) {
        const [response] = await exchange(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
        assert.ok(response, `${target}: an answer`);
        assert.ok(!response.body.toString("latin1").includes(SECRET.trim()), `${target}: the secret leaked`);
        results.push(`${target} → ${response.status}`);
      }
      assert.deepEqual(
        results,
        TRAVERSALS.map(({ target, status }) => `${target} → ${status}`),
      );
    });

    it("with onNoMatch, paths that cannot name a file go to the app instead of a 400", async () => {
      const [response] = await exchange(
        server.port,
        "GET /api/a%2Fb HTTP/1.1\r\nHost: 127.0.0.1\r\nx-variant: noMatch\r\nConnection: close\r\n\r\n",
      );
      assert.equal(response?.status, 299);
      assert.equal(response?.body.toString(), "app: GET /api/a%2Fb");
      const [dots] = await exchange(
        server.port,
        "GET /../outside/secret.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nx-variant: noMatch\r\nConnection: close\r\n\r\n",
      );
      assert.equal(dots?.status, 299);
    });

    if (sourceUnderTest.symlinks) {
      it("symlinks: inside the root they work, out of it they are not there (404)", async () => {
        for (const { target, status, body, location } of SYMLINK_CASES) {
          const response = await fetch(base + target, { redirect: "manual" });
          const text = await response.text();
          assert.equal(response.status, status, target);
          assert.ok(!text.includes(SECRET.trim()), `${target}: the secret leaked`);
          if (body !== undefined) assert.equal(text, body, target);
          if (location !== undefined) assert.equal(response.headers.get("location"), location, target);
        }
      });

      it("curl: --path-as-is traversal gets 400, a range gets its bytes", async () => {
        const traversal = await curl(["--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", `${base}/../outside/secret.txt`]);
        assert.equal(traversal.stdout.toString(), "400");
        const ranged = await curl(["-r", "100-199", "-D", "-", `${base}/big.bin`]);
        const text = ranged.stdout.toString("latin1");
        assert.match(text, /^HTTP\/1\.1 206 /);
        assert.match(text, new RegExp(`content-range: bytes 100-199/${BIG_SIZE}`, "i"));
        equalBytes(ranged.stdout.subarray(text.indexOf("\r\n\r\n") + 4), pattern(100, 100), "curl range body");
        const head = await curl(["-I", `${base}/style.css`]);
        assert.match(head.stdout.toString(), /content-type: text\/css; charset=utf-8/i);
      });
    }
  });
}

describe("the handle source asks the handle only for plain names", () => {
  it("no '..', '', '/', '\\\\' or control characters ever reach getFileHandle/getDirectoryHandle", async () => {
    MemoryDirectoryHandle.asked.length = 0;
    const server = await startServer(serveStatic(directoryHandleSource(MemoryDirectoryHandle.fromFiles(fileMap()))));
    try {
      for (const { target } of TRAVERSALS)
        await exchange(server.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    } finally {
      await stopServer(server);
    }
    assert.ok(MemoryDirectoryHandle.asked.length > 0, "some lookups happened");
    const bad = MemoryDirectoryHandle.asked.filter(
      (name) => name === "" || name === "." || name === ".." || /[/\\\u0000-\u001f]/.test(name),
    );
    assert.deepEqual(bad, []);
  });

  it("a real failure of the handle (permission lost) is a 500, not a 404", async () => {
    const handle = MemoryDirectoryHandle.fromFiles(fileMap());
    handle.getFileHandle = async () => {
      throw new DOMException("permission was revoked", "NotAllowedError");
    };
    const server = await startServer(serveStatic(directoryHandleSource(handle)));
    try {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/hello.txt`)).status, 500);
    } finally {
      await stopServer(server);
    }
  });
});

describe("streams read on demand, never the whole file", () => {
  it("the directory source reads one chunk per pull, none before", async () => {
    const source = directorySource(tree.root);
    const stream = await source.open(["big.bin"], 10, BIG_SIZE);
    const reader = stream.getReader();
    const first = await reader.read();
    assert.equal(first.value?.length, 256 * 1024);
    equalBytes(first.value!, pattern(256 * 1024, 10), "first chunk");
    await reader.cancel();
  });

  it("a Blob is sliced one chunk per pull (bundle files and picked files)", async () => {
    class CountingBlob extends Blob {
      slices = 0;
      override slice(start?: number, end?: number, type?: string): Blob {
        this.slices++;
        return super.slice(start, end, type);
      }
    }
    const blob = new CountingBlob([bytesOf("big.bin")]);
    const source = filesSource({ "big.bin": blob });
    const stream = await source.open(["big.bin"], 0, BIG_SIZE);
    for (let turn = 0; turn < 10; turn++) await undefined;
    assert.equal(blob.slices, 0, "nothing read before the first pull");
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    await reader.read();
    assert.equal(blob.slices, 3, "one slice per read");
    await reader.cancel();
  });

  it("a client that leaves after 1 MiB of a 1 GiB file made the server read a bounded amount", async () => {
    const size = 1024 ** 3;
    let pulled = 0;
    let cancelled!: () => void;
    const cancel = new Promise<void>((resolve) => (cancelled = resolve));
    const huge: FileSource = {
      stat: async (path) => (path.join("/") === "huge.bin" ? { kind: "file", size, mtimeMs: MTIME_MS } : undefined),
      open: async (_path, start, end) => {
        let offset = start;
        return new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              const length = Math.min(64 * 1024, end - offset);
              offset += length;
              pulled += length;
              controller.enqueue(new Uint8Array(length));
              if (offset >= end) controller.close();
            },
            cancel: () => cancelled(),
          },
          { highWaterMark: 0 },
        );
      },
    };
    const server = await startServer(serveStatic(huge));
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/huge.bin`);
      assert.equal(response.headers.get("content-length"), String(size));
      const reader = response.body!.getReader();
      let received = 0;
      while (received < 1024 * 1024) received += (await reader.read()).value!.length;
      await reader.cancel();
      await withTimeout(cancel, 10_000, "the server to cancel the file stream after the client left");
      assert.ok(pulled < 64 * 1024 * 1024, `read ${pulled} bytes of the file for a client that took ${received}`);
    } finally {
      await server.close(true);
    }
  });
});

describe("helpers", () => {
  it("pathNames", () => {
    assert.deepEqual(pathNames("/"), [""]);
    assert.deepEqual(pathNames("/a/b%20c/"), ["a", "b c", ""]);
    for (const bad of ["", "a", "//", "/a//b", "/..", "/a/.", "/%2e", "/a%2fb", "/a%5Cb", "/a\\b", "/%00", "/%7f", "/%e0%80"]) {
      assert.equal(pathNames(bad), "bad", bad);
    }
  });

  it("parseRange", () => {
    assert.deepEqual(parseRange("bytes=0-0", 10), { start: 0, end: 1 });
    assert.deepEqual(parseRange("bytes=-3", 10), { start: 7, end: 10 });
    assert.deepEqual(parseRange("bytes=9-", 10), { start: 9, end: 10 });
    assert.equal(parseRange("bytes=10-", 10), "unsatisfiable");
    assert.equal(parseRange("bytes=-0", 10), "unsatisfiable");
    assert.equal(parseRange("bytes=-5", 0), undefined);
    assert.equal(parseRange("bytes=0-1,3-4", 10), undefined);
    assert.equal(parseRange("bytes=", 10), undefined);
    assert.equal(parseRange("bytes=-", 10), undefined);
  });

  it("contentTypeOf", () => {
    assert.equal(contentTypeOf("index.html"), "text/html; charset=utf-8");
    assert.equal(contentTypeOf("a.MP4"), "video/mp4");
    assert.equal(contentTypeOf("module.mjs"), "text/javascript; charset=utf-8");
    assert.equal(contentTypeOf("m.webmanifest"), "application/manifest+json; charset=utf-8");
    assert.equal(contentTypeOf("x.wasm"), "application/wasm");
    assert.equal(contentTypeOf("favicon.ico"), "image/x-icon");
    assert.equal(contentTypeOf("README"), "application/octet-stream");
    assert.equal(contentTypeOf("x.unknown-ext"), "application/octet-stream");
  });

  it("filesSource refuses paths with dot segments and file/folder clashes; accepts strings, bytes, Blobs", async () => {
    assert.throws(() => filesSource({ "../x": "a" }), /'\.\.' segment/);
    assert.throws(() => filesSource({ "a/./x": "a" }), /'\.' segment/);
    assert.throws(
      () =>
        filesSource([
          ["a", "1"],
          ["a/b", "2"],
        ]),
      /both a file and a directory/,
    );
    assert.throws(
      () =>
        filesSource([
          ["a/b", "1"],
          ["a", "2"],
        ]),
      /directory of other files/,
    );
    const source = filesSource(
      {
        "/lead/slash.txt": "text",
        "bytes.bin": Uint8Array.of(1, 2, 3),
        "buffer.bin": Uint8Array.of(4).buffer,
        "blob.txt": new Blob(["blob"]),
      },
      { lastModified: 5000 },
    );
    assert.deepEqual(await source.stat(["lead", "slash.txt"]), { kind: "file", size: 4, mtimeMs: 5000 });
    assert.deepEqual(await source.stat(["lead"]), { kind: "directory", size: 0 });
    assert.deepEqual(await source.stat([]), { kind: "directory", size: 0 });
    assert.equal(await source.stat(["nope"]), undefined);
    assert.equal(await new Response(await source.open(["blob.txt"], 1, 3)).text(), "lo");
    assert.deepEqual([...new Uint8Array(await new Response(await source.open(["bytes.bin"], 1, 3)).arrayBuffer())], [2, 3]);
  });

  it("a file that goes away between stat and open is a 404; a source failing to open is a 500", async () => {
    const files = filesSource({ "a.txt": "a" });
    let present = true;
    const vanishing: FileSource = {
      stat: async (path) => (present ? files.stat(path) : undefined),
      open: async () => {
        present = false;
        throw new Error("ENOENT");
      },
    };
    assert.equal((await serveStatic(vanishing)(new Request("http://x/a.txt"))).status, 404);
    const failing: FileSource = { stat: files.stat, open: async () => Promise.reject(new Error("EIO")) };
    await assert.rejects(serveStatic(failing)(new Request("http://x/a.txt")), /EIO/);
  });

  it("the handler and the browser-side sources bundle for the browser without node:* (the folder source loads on use)", async () => {
    const esbuild = await import("esbuild");
    const entry = fileURLToPath(new URL("../../src/static/index.ts", import.meta.url));
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
      logLevel: "silent",
    });
    const code = result.outputFiles[0]!.text;
    assert.doesNotMatch(code, /from\s*["']node:|require\(["']node:/);
    assert.match(code, /"\.\/node-source\.js"/, "the folder source is imported by a name esbuild leaves alone");
  });

  it("a real FileSystemDirectoryHandle fits DirectoryHandleLike", () => {
    // Type-level: compiles only if the DOM's handle is assignable.
    const accept = (handle: FileSystemDirectoryHandle) => directoryHandleSource(handle);
    assert.equal(typeof accept, "function");
  });
});
