/**
 * The demo's WebSocket routes: `/ws` echoes every message, `/ws/broadcast` sends each message to every
 * peer connected to that path (the sender included). Web APIs only: this runs in the IWA too.
 */
import { upgradeResponse } from "../src/index.js";
import type { WebSocketHandler } from "../src/websocket/index.js";

export interface DemoSocketData {
  route: "echo" | "broadcast";
}

const BROADCAST_TOPIC = "demo:broadcast";

export const demoWebSocket: WebSocketHandler<DemoSocketData> = {
  perMessageDeflate: true,
  open(ws) {
    if (ws.data.route === "broadcast") ws.subscribe(BROADCAST_TOPIC);
  },
  message(ws, message) {
    if (ws.data.route === "echo") {
      ws.send(message);
      return;
    }
    ws.publish(BROADCAST_TOPIC, message);
    ws.send(message);
  },
};

const routes: Record<string, DemoSocketData["route"]> = { "/ws": "echo", "/ws/broadcast": "broadcast" };

/** Upgrades requests for the WebSocket paths (the 101 response, or 426 for non-WebSocket requests); undefined for any other path. */
export function routeDemoWebSocket(
  request: Request,
  server: { upgrade(request: Request, options?: { data?: DemoSocketData }): boolean },
): Response | undefined {
  const route = routes[new URL(request.url).pathname];
  if (!route) return undefined;
  if (server.upgrade(request, { data: { route } })) return upgradeResponse(request);
  return new Response("This is a WebSocket endpoint: connect with a WebSocket client.\n", {
    status: 426,
    headers: { "content-type": "text/plain; charset=utf-8", upgrade: "websocket", "sec-websocket-version": "13" },
  });
}
