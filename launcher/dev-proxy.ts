/**
 * The "dev-mode proxy" Chromium installs an Isolated Web App from: a plain http server on 127.0.0.1 that
 * answers with the responses stored in the signed bundle, byte for byte, so what runs is what was signed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface DevProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Chromium refuses to install from a proxy whose responses are not cross-origin isolated. */
const isolationHeaders: Record<string, string> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * `responses` is keyed by path ("/", "/index.html", ...). `port` 0 takes any free port; a given one is for
 * an app installed earlier, which Chromium keeps loading from the same proxy origin.
 */
export async function startDevProxy(responses: ReadonlyMap<string, StoredResponse>, port = 0): Promise<DevProxy> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://proxy.invalid").pathname;
    const stored = responses.get(path) ?? (path.endsWith("/") ? responses.get(`${path}index.html`) : undefined);
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", ...isolationHeaders }).end();
      return;
    }
    if (!stored) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...isolationHeaders });
      response.end(request.method === "HEAD" ? undefined : `${path} is not in the bundle\n`);
      return;
    }
    const headers: Record<string, string> = { ...isolationHeaders, ...stored.headers };
    headers["content-length"] = String(stored.body.byteLength);
    headers["cache-control"] = "no-store";
    response.writeHead(stored.status, headers);
    response.end(request.method === "HEAD" ? undefined : stored.body);
  });
  // A proxy that is only for this machine's Chromium.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
