// An app module: its default export is the server, `{ fetch, websocket?, port?, hostname? }` — the shape `deno serve`,
// Bun and srvx run. Inside Chromium: `browser-httpd start ./examples/app.ts`; on Node: `browser-httpd serve
// ./examples/app.ts`; on Deno: `deno serve examples/app.ts`; on Bun: `bun examples/app.ts`. The WebSocket route
// uses browser-httpd's `info.server.upgrade` (Bun passes its server itself, Deno has Deno.upgradeWebSocket).
import type { AppModule } from "../src/index.js";

const page = `<!doctype html>
<meta charset="utf-8">
<title>An app module</title>
<h1>Hello from an app module</h1>
<p>Also here: <a href="/hello">/hello</a>, POST /echo (answers the body), and a WebSocket on /ws (echoes).</p>
`;

export default {
  fetch(request, info) {
    const { pathname } = new URL(request.url);
    if (pathname === "/") return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
    if (pathname === "/hello") return new Response("Hello, world!\n");
    if (pathname === "/echo" && request.method === "POST") {
      return new Response(request.body, { headers: { "content-type": request.headers.get("content-type") ?? "text/plain" } });
    }
    if (pathname === "/ws") {
      if (info.server.upgrade(request)) return undefined; // the server answers 101
      return new Response("This is a WebSocket endpoint.\n", { status: 426, headers: { upgrade: "websocket" } });
    }
    return new Response("Not Found\n", { status: 404 });
  },
  websocket: {
    message(ws, message) {
      ws.send(message);
    },
  },
} satisfies AppModule;
