/**
 * The platform's own ceiling for the in-Chromium benchmarks: a minimal Isolated Web App of its own, installed
 * beside the real app in the same Chromium, that answers on a bare TCPServerSocket with no HTTP stack and none
 * of the server's guarantees. It counts request ends ("\r\n\r\n") in what it reads and writes a fixed reply for
 * each (`Hello, world!`, or `bodyBytes` bytes of "x"); after an HTTP/1.0 request without `Connection: keep-alive` (as ab
 * sends without -k) it closes the connection. With `busyMicros` it first keeps the main thread busy that long per
 * request: a calibration of what a server's per-request JavaScript costs on this path.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { packageRoot } from "../launcher/build-app.js";
import type { RunningChromium } from "../launcher/chromium.js";
import { startDevProxy, type StoredResponse } from "../launcher/dev-proxy.js";
import { evaluate, installFromDevProxyWithPwaInstall, IwaDevPage, launchApp } from "../launcher/iwa.js";

const manifest = {
  name: "bare responder",
  version: "1.0.0",
  id: "/",
  start_url: "/",
  scope: "/",
  display: "standalone",
  icons: [{ src: "/icon.svg", sizes: "256x256", type: "image/svg+xml" }],
  permissions_policy: { "cross-origin-isolated": ["self"], "direct-sockets": ["self"] },
};

const page = `<!doctype html><meta charset="utf-8"><title>bare responder</title><script type="module" src="/responder.js"></script>`;

const responder = `
const encoder = new TextEncoder();
const query = new URLSearchParams(location.search);
const port = Number(query.get("port"));
const body = query.has("bodyBytes") ? new Uint8Array(Number(query.get("bodyBytes"))).fill(120) : encoder.encode("Hello, world!");
const busyMs = Number(query.get("busyMicros") ?? 0) / 1000;
function keepBusy() {
  if (busyMs === 0) return;
  const until = performance.now() + busyMs;
  while (performance.now() < until);
}
function replyWith(fields) {
  const head = encoder.encode("HTTP/1.1 200 OK\\r\\n" + fields + "Content-Length: " + body.length + "\\r\\n\\r\\n");
  const whole = new Uint8Array(head.length + body.length);
  whole.set(head);
  whole.set(body, head.length);
  return whole;
}
const reply = replyWith("");
const keepAliveReply = replyWith("Connection: keep-alive\\r\\n");
const server = new TCPServerSocket("127.0.0.1", { localPort: port });
globalThis.bareResponder = server.opened.then(async ({ readable }) => {
  (async () => {
    for await (const connection of readable) serveConnection(connection).catch(() => {});
  })();
  return port;
});
async function serveConnection(connection) {
  const { readable, writable } = await connection.opened;
  const writer = writable.getWriter();
  const reader = readable.getReader();
  // Tracks "\\r\\n\\r\\n" across chunks; keeps the head's text (up to 1 KiB) only to tell HTTP/1.0 and its keep-alive.
  let tail = 0;
  let head = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i++) {
      const byte = value[i];
      if (head.length < 1024) head += String.fromCharCode(byte);
      tail = byte === (tail % 2 === 0 ? 13 : 10) ? tail + 1 : byte === 13 ? 1 : 0;
      if (tail !== 4) continue;
      tail = 0;
      const http10 = head.slice(0, head.indexOf("\\n")).includes("HTTP/1.0");
      const keepAlive = !http10 || /\\nconnection:\\s*keep-alive/i.test(head);
      head = "";
      keepBusy();
      if (keepAlive) {
        await writer.write(http10 ? keepAliveReply : reply);
        continue;
      }
      await writer.write(reply);
      await writer.close();
      await reader.cancel();
      return;
    }
  }
  await writer.close().catch(() => {});
}
`;

export interface BareResponder {
  port: number;
  /** The DevTools session of its window (to profile it). */
  sessionId: string;
  close(): Promise<void>;
}

/**
 * Installs and launches the bare responder in `chromium`, listening on `port`; its replies carry `bodyBytes` bytes
 * of body when given (to compare with a file of that size), else `Hello, world!`; `busyMicros` of busy main thread
 * precede each reply when given.
 */
export async function launchBareResponder(
  chromium: RunningChromium,
  port: number,
  options: { bodyBytes?: number; busyMicros?: number } = {},
): Promise<BareResponder> {
  const text = (body: string, type: string): StoredResponse => ({
    status: 200,
    headers: { "content-type": type },
    body: new TextEncoder().encode(body),
  });
  const files = new Map<string, StoredResponse>([
    ["/.well-known/manifest.webmanifest", text(JSON.stringify(manifest), "application/manifest+json")],
    ["/index.html", text(page, "text/html; charset=utf-8")],
    ["/responder.js", text(responder, "text/javascript")],
    [
      "/icon.svg",
      { status: 200, headers: { "content-type": "image/svg+xml" }, body: await readFile(join(packageRoot, "app", "icon.svg")) },
    ],
  ]);
  const proxy = await startDevProxy(files);
  try {
    let installed = await installFromDevProxyWithPwaInstall(chromium.cdp, proxy.url, manifest);
    if (!installed) {
      const devPage = await IwaDevPage.open(chromium.cdp, chromium.product);
      try {
        installed = await devPage.installFromDevProxy(proxy.url);
      } finally {
        await devPage.close();
      }
    }
    const query = new URLSearchParams({ port: String(port) });
    if (options.bodyBytes !== undefined) query.set("bodyBytes", String(options.bodyBytes));
    if (options.busyMicros !== undefined) query.set("busyMicros", String(options.busyMicros));
    const window = await launchApp(chromium.cdp, installed, `/?${query}`);
    for (let attempt = 0; ; attempt++) {
      const listening = await evaluate<number | null>(chromium.cdp, window.sessionId, "globalThis.bareResponder ?? null").catch(() => null);
      if (listening === port) break;
      if (attempt === 100) throw new Error(`the bare responder did not listen on ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      port,
      sessionId: window.sessionId,
      close: async () => {
        await chromium.cdp.send("Target.closeTarget", { targetId: window.targetId }).catch(() => undefined);
        await proxy.close();
      },
    };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}
