// An app module: its default export is the server, `{ fetch, websocket?, port?, hostname? }` — the shape `deno serve`,
// Bun and srvx run. Inside Chromium: `browser-httpd start ./examples/app.ts`; on Node: `browser-httpd serve
// ./examples/app.ts`; on Deno: `deno serve examples/app.ts`; on Bun: `bun examples/app.ts`. The WebSocket route
// uses browser-httpd's `info.server.upgrade`, which is Bun's `server.upgrade` (Bun passes its server as the second
// argument); Deno passes no server, so there the route takes Deno.upgradeWebSocket, with the same echo.
import type { AppModule } from "../src/index.js";

/** Deno's own WebSocket upgrade, where `deno serve` runs this module. */
const deno = (globalThis as { Deno?: { upgradeWebSocket(request: Request): { socket: WebSocket; response: Response } } }).Deno;

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
    if (pathname === "/ws" && request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      // browser-httpd passes info.server; Bun passes its server itself; Deno passes neither and has its own upgrade.
      const server = info.server ?? (info as unknown as Partial<typeof info.server>);
      if (typeof server.upgrade === "function")
        return server.upgrade(request) ? undefined : new Response("Bad WebSocket upgrade\n", { status: 400 });
      if (deno) {
        const { socket, response } = deno.upgradeWebSocket(request);
        socket.onmessage = (event) => socket.send(event.data);
        return response;
      }
    }
    if (pathname === "/ws") {
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
