import type { ListenOptions, ServerSocketFactory, TCPServerSocket } from "./types.js";

export type * from "./types.js";
export { DIRECT_IO, socketIo, type ByteReader, type ByteWriter, type DirectIo } from "./direct-io.js";

type Runtime = "browser" | "deno" | "bun" | "node";

export function detectRuntime(): Runtime {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.TCPServerSocket === "function") return "browser";
  if (typeof g.Deno === "object") return "deno";
  if (typeof g.Bun === "object") return "bun";
  return "node";
}

// Kept out of static analysis so browser bundles never pull node:net and friends.
const adapterModules: Record<Exclude<Runtime, "browser">, string> = {
  node: "./node.js",
  deno: "./deno.js",
  bun: "./bun.js",
};

/**
 * Opens a TCP server socket: the native `TCPServerSocket` in a browser (an Isolated Web App),
 * the adapter for Node, Deno or Bun elsewhere. The result has the Direct Sockets shape either way.
 */
export async function listen(localAddress: string, options: ListenOptions = {}): Promise<TCPServerSocket> {
  const runtime = detectRuntime();
  if (runtime === "browser") {
    const { createBrowserServerSocket } = await import("./browser.js");
    return createBrowserServerSocket(localAddress, options);
  }
  const specifier = adapterModules[runtime];
  const adapter = (await import(specifier)) as { createServerSocket: ServerSocketFactory };
  return adapter.createServerSocket(localAddress, options);
}
