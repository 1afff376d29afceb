/**
 * The demo routes: the contract the IWA serves and `browser-httpd serve` serves on Node, Deno and Bun.
 * Web APIs only — this module runs inside the Isolated Web App too.
 */
import { cors } from "../src/index.js";
import { FastResponse } from "../src/http/fast-response.js";
import type { FetchHandler } from "../src/server/serve.js";
import { Sha256 } from "./sha256.js";
import { pathOf } from "../src/shared/url-target.js";
import { demoWebSocket, routeDemoWebSocket } from "./demo-websocket.js";

/** The download pattern: byte i of a `/download` body is i % 251, so any loss or reordering shows. */
const PATTERN_PERIOD = 251;
const DOWNLOAD_PIECE = 64 * 1024;
const PATTERN = Uint8Array.from({ length: DOWNLOAD_PIECE + PATTERN_PERIOD }, (_, i) => i % PATTERN_PERIOD);
/** Largest `/download` accepted: 16 GiB. */
const MAX_DOWNLOAD = 2 ** 34;

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>browser-httpd</title></head>
<body>
<h1>browser-httpd</h1>
<p>This page was served by browser-httpd.</p>
<ul>
<li><a href="/hello">GET /hello</a></li>
<li>POST /echo — streams the request body back</li>
<li>POST /upload — answers the byte count and SHA-256 of the body</li>
<li><a href="/download?bytes=1048576">GET /download?bytes=N</a> — N bytes, byte i = i % 251 (add &amp;chunked=1 for chunked)</li>
<li>WebSocket /ws (echo) and /ws/broadcast (to every peer)</li>
</ul>
</body>
</html>
`;

function text(body: string, status = 200, type = "text/plain; charset=utf-8"): Response {
  return new FastResponse(body, { status, headers: { "content-type": type } });
}

/** A stream of `length` pattern bytes, produced as fast as the connection takes them. */
export function patternStream(length: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const size = Math.min(DOWNLOAD_PIECE, length - sent);
        const phase = sent % PATTERN_PERIOD;
        controller.enqueue(PATTERN.subarray(phase, phase + size));
        sent += size;
        if (sent === length) controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}

async function upload(request: Request): Promise<Response> {
  const hash = new Sha256();
  let bytes = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  }
  return Response.json({ bytes, sha256: hash.hex() });
}

function download(url: URL): Response {
  const requested = url.searchParams.get("bytes") ?? "0";
  if (!/^\d{1,12}$/.test(requested) || Number(requested) > MAX_DOWNLOAD) {
    return text(`bytes must be an integer from 0 to ${MAX_DOWNLOAD}\n`, 400);
  }
  const length = Number(requested);
  const headers = new Headers({ "content-type": "application/octet-stream" });
  if (url.searchParams.get("chunked") !== "1") headers.set("content-length", String(length));
  return new Response(length === 0 ? null : patternStream(length), { headers });
}

const routes: FetchHandler = (request, info) => {
  const pathname = pathOf(request.url);
  if (pathname === "/ws" || pathname.startsWith("/ws/")) return routeDemoWebSocket(request, info.server) ?? text("Not Found\n", 404);
  const route = `${request.method} ${pathname}`;
  switch (route) {
    case "GET /":
    case "HEAD /":
      return text(INDEX_HTML, 200, "text/html; charset=utf-8");
    case "GET /hello":
    case "HEAD /hello":
      return text("Hello, world!");
    case "POST /echo":
      return new Response(request.body, {
        headers: { "content-type": request.headers.get("content-type") ?? "application/octet-stream" },
      });
    case "POST /upload":
      return upload(request);
    case "GET /download":
    case "HEAD /download":
      return download(new URL(request.url));
    case "OPTIONS /*":
      return new Response(null, { status: 204, headers: { allow: "GET, HEAD, POST, OPTIONS" } });
  }
  const known = ["/", "/hello", "/echo", "/upload", "/download"].includes(pathname);
  return known ? text("Method Not Allowed\n", 405) : text("Not Found\n", 404);
};

/** The demo app: `serve({ ...createDemoApp(), port })`. */
export function createDemoApp() {
  return { fetch: cors(routes), websocket: demoWebSocket };
}
