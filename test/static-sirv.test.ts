/**
 * serveStatic (served by browser-httpd's serve() on Node) beside sirv (on node:http) over the same directory,
 * asked the same requests with fetch: where they should agree — status, media type, Content-Length, Content-Range,
 * ETag (both write W/"size-mtime"), Last-Modified, the bytes — they must. Where serveStatic differs on purpose,
 * the difference is asserted too, so it stays known.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import sirv from "sirv";
import { serveStatic, type Server } from "../src/index.js";
import { startServer, stopServer } from "./fixtures/http/harness.js";
import { BIG_SIZE, MTIME_MS, writeTree, type DiskTree } from "./fixtures/static/tree.js";

interface Ask {
  path: string;
  method?: string;
  headers?: Record<string, string>;
}

const AGREE: Ask[] = [
  { path: "/hello.txt" },
  { path: "/style.css" },
  { path: "/app.js" },
  { path: "/data.json" },
  { path: "/image.png" },
  { path: "/assets/logo.svg" },
  { path: "/big.bin" },
  { path: "/index.html" },
  { path: "/docs/guide.html" },
  { path: "/" },
  { path: "/docs/" },
  { path: "/empty.txt" },
  { path: "/assets/%C3%BCn%C3%AF.txt" },
  { path: "/missing.txt" },
  { path: "/docs/missing.html" },
  { path: "/.env" },
  { path: "/.hidden/inside.txt" },
  { path: "/.well-known/security.txt" },
  { path: "/hello.txt", method: "HEAD" },
  { path: "/big.bin", method: "HEAD" },
  { path: "/big.bin", headers: { range: "bytes=0-99" } },
  { path: "/big.bin", headers: { range: "bytes=100-" } },
  { path: "/big.bin", headers: { range: "bytes=5-99999999999" } },
  { path: "/big.bin", headers: { range: `bytes=${BIG_SIZE - 1}-${BIG_SIZE - 1}` } },
  { path: "/big.bin", headers: { range: `bytes=${BIG_SIZE}-` } },
  { path: "/big.bin", headers: { range: `bytes=${BIG_SIZE + 10}-${BIG_SIZE + 20}` } },
  { path: "/hello.txt", headers: { range: "bytes=0-4" } },
  { path: "/hello.txt", headers: { "if-none-match": `W/"21-${MTIME_MS}"` } },
  { path: "/style.css", headers: { "if-none-match": 'W/"0-0"' } },
];

/** Where serveStatic answers differently on purpose: [request, ours, sirv's]. */
const DIFFER: Array<{ ask: Ask; ours: number; sirv: number; why: string }> = [
  {
    ask: { path: "/docs" },
    ours: 301,
    sirv: 200,
    why: "serveStatic redirects a folder to its slash form (relative links in its index.html resolve); sirv serves the index at /docs",
  },
  { ask: { path: "/about" }, ours: 404, sirv: 200, why: "sirv tries .html/.htm by default; serveStatic only with `extensions`" },
  {
    ask: { path: "/hello.txt", headers: { "if-modified-since": new Date(MTIME_MS).toUTCString() } },
    ours: 304,
    sirv: 200,
    why: "sirv ignores If-Modified-Since",
  },
  {
    ask: { path: "/big.bin", headers: { range: "bytes=0-1,5-6" } },
    ours: 200,
    sirv: 206,
    why: "several ranges: serveStatic sends the whole file; sirv serves a wrong single range",
  },
  { ask: { path: "/hello.txt", method: "POST" }, ours: 405, sirv: 200, why: "serveStatic answers GET and HEAD only" },
];

interface Answer {
  status: number;
  type: string | undefined;
  length: string | null;
  range: string | null;
  etag: string | null;
  lastModified: string | null;
  body: Buffer;
}

async function ask(base: string, { path, method = "GET", headers }: Ask): Promise<Answer> {
  const response = await fetch(base + path, { method, headers, redirect: "manual" });
  const body = Buffer.from(await response.arrayBuffer());
  const type = response.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  const ok = response.status === 200 || response.status === 206;
  return {
    status: response.status,
    // What sirv sends beside a 304/404/416 is little; compare these fields where a body is served.
    type: ok ? type : undefined,
    length: ok ? response.headers.get("content-length") : null,
    range: response.status === 206 || response.status === 416 ? response.headers.get("content-range") : null,
    etag: ok ? response.headers.get("etag") : null,
    lastModified: ok ? response.headers.get("last-modified") : null,
    body,
  };
}

describe("serveStatic beside sirv on the same tree", { timeout: 60_000 }, () => {
  let tree: DiskTree;
  let ours: Server;
  let sirvServer: http.Server;
  let oursBase: string;
  let sirvBase: string;

  before(async () => {
    tree = await writeTree();
    ours = await startServer(serveStatic(tree.root));
    oursBase = `http://127.0.0.1:${ours.port}`;
    const handler = sirv(tree.root, { etag: true });
    sirvServer = http.createServer((request, response) => handler(request, response));
    sirvServer.listen(0, "127.0.0.1");
    await once(sirvServer, "listening");
    sirvBase = `http://127.0.0.1:${(sirvServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    await stopServer(ours);
    sirvServer?.closeAllConnections();
    await new Promise((resolve) => sirvServer?.close(resolve));
    await tree?.remove();
  });

  for (const request of AGREE) {
    const label = `${request.method ?? "GET"} ${request.path}${request.headers ? ` ${JSON.stringify(request.headers)}` : ""}`;
    it(`agree: ${label}`, async () => {
      const [mine, theirs] = await Promise.all([ask(oursBase, request), ask(sirvBase, request)]);
      const { body: myBody, ...myFields } = mine;
      const { body: theirBody, ...theirFields } = theirs;
      assert.deepEqual(myFields, theirFields);
      if (mine.status === 200 || mine.status === 206) assert.ok(myBody.equals(theirBody), "the same bytes");
    });
  }

  for (const { ask: request, ours: myStatus, sirv: sirvStatus, why } of DIFFER) {
    it(`differ on purpose: ${request.method ?? "GET"} ${request.path} ${JSON.stringify(request.headers ?? {})} — ${why}`, async () => {
      const [mine, theirs] = await Promise.all([ask(oursBase, request), ask(sirvBase, request)]);
      assert.equal(mine.status, myStatus);
      assert.equal(theirs.status, sirvStatus);
    });
  }
});
