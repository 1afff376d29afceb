// A WebSocket chat room with Bun-style handlers and pub/sub; runs on Node, Deno, Bun and inside the IWA.
// Try: node dist/examples/chat.js (or deno run -A / bun on the same file; PORT=0 picks a free port, default 8080),
// then in two shells: npx wscat -c ws://127.0.0.1:8080/chat?name=ann
import { serve } from "../src/index.js";

interface Member {
  name: string;
}

const room = "chat";

const server = serve({
  port: Number(globalThis.process?.env.PORT || 8080),
  fetch(request, { server }) {
    const url = new URL(request.url);
    if (url.pathname !== "/chat") return new Response("Connect a WebSocket to /chat?name=you\n", { status: 404 });
    const name = url.searchParams.get("name") ?? "anonymous";
    if (server.upgrade(request, { data: { name } satisfies Member })) return;
    return new Response("This is a WebSocket endpoint.\n", { status: 426, headers: { upgrade: "websocket" } });
  },
  websocket: {
    perMessageDeflate: true,
    open(ws) {
      const { name } = ws.data as Member;
      ws.subscribe(room);
      server.publish(room, `${name} joined`);
    },
    message(ws, message) {
      const text = typeof message === "string" ? message : new TextDecoder().decode(message);
      server.publish(room, `${(ws.data as Member).name}: ${text}`);
    },
    close(ws) {
      server.publish(room, `${(ws.data as Member).name} left`);
    },
  },
  onListen: ({ url }) => console.log(`chat on ${url.replace("http", "ws")}chat?name=you`),
});
await server.ready();
