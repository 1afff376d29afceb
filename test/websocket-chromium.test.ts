/** Chromium's WebSocket and WebSocketStream, from a normal page on 127.0.0.1, against browser-httpd on Node. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium, type Browser, type Page } from "playwright-core";
import { routeDemoWebSocket } from "../app/demo-websocket.js";
import { startServer, type TestServer } from "./fixtures/websocket/server.js";

const PAGE = "<!doctype html><title>websocket test</title><p>ok</p>";
const SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024];

let server: TestServer;
let browser: Browser;
let page: Page;

before(async () => {
  server = await startServer({}, (request, srv) =>
    new URL(request.url).pathname === "/"
      ? new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } })
      : (routeDemoWebSocket(request, srv) ?? new Response("not found", { status: 404 })),
  );
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: 30_000,
  });
  page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`http://127.0.0.1:${server.port}/`);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

interface EchoReport {
  extensions: string;
  failures: string[];
  close: { code: number; reason: string; wasClean: boolean };
}

test("Chromium WebSocket: echo of boundary sizes with permessage-deflate, clean close", async () => {
  const report = await page.evaluate(
    async ({ url, sizes }): Promise<EchoReport> => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const queue: unknown[] = [];
      const waiters: Array<(data: unknown) => void> = [];
      ws.onmessage = (event) => (waiters.length ? waiters.shift()!(event.data) : queue.push(event.data));
      const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiters.push(resolve)));
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      const failures: string[] = [];
      for (const size of sizes) {
        const bytes = new Uint8Array(size).map((_, i) => (i * 13) & 0xff);
        ws.send(bytes);
        const echoed = new Uint8Array((await next()) as ArrayBuffer);
        if (echoed.length !== size || echoed.some((b, i) => b !== bytes[i])) failures.push(`binary ${size}`);
        const text = "🙂".repeat(size >> 2) + "x".repeat(size & 3);
        ws.send(text);
        if ((await next()) !== text) failures.push(`text ${size}`);
      }
      const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>(
        (resolve) => (ws.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })),
      );
      ws.close(4321, "browser done");
      return { extensions: ws.extensions, failures, close: await closed };
    },
    { url: server.wsUrl("/ws"), sizes: SIZES },
  );
  assert.match(report.extensions, /^permessage-deflate/);
  assert.deepEqual(report.failures, []);
  assert.deepEqual(report.close, { code: 4321, reason: "browser done", wasClean: true });
});

test("Chromium WebSocket: /ws/broadcast reaches every peer", async () => {
  const received = await page.evaluate(async (url) => {
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onopen = () => resolve(ws);
        ws.onerror = reject;
      });
    const peers = await Promise.all([open(), open(), open()]);
    const messages = peers.map((ws) => new Promise<string>((resolve) => (ws.onmessage = (event) => resolve(event.data as string))));
    peers[1]!.send("to all of you");
    const result = await Promise.all(messages);
    for (const ws of peers) ws.close();
    return result;
  }, server.wsUrl("/ws/broadcast"));
  assert.deepEqual(received, ["to all of you", "to all of you", "to all of you"]);
});

test("Chromium WebSocketStream: echo through streams, close with code and reason", async () => {
  const report = await page.evaluate(async (url) => {
    const WebSocketStreamClass = (
      globalThis as unknown as {
        WebSocketStream?: new (
          url: string,
        ) => {
          opened: Promise<{ readable: ReadableStream; writable: WritableStream }>;
          closed: Promise<{ closeCode: number; reason: string }>;
          close(info: { closeCode: number; reason: string }): void;
        };
      }
    ).WebSocketStream;
    if (!WebSocketStreamClass) return { missing: true };
    const wss = new WebSocketStreamClass(url);
    const { readable, writable } = await wss.opened;
    const reader = readable.getReader();
    const writer = writable.getWriter();
    const results: Array<string | number> = [];
    await writer.write("hello stream");
    results.push((await reader.read()).value as string);
    const big = new Uint8Array(1024 * 1024).fill(9);
    for (let i = 0; i < 4; i++) await writer.write(big);
    for (let i = 0; i < 4; i++) results.push(((await reader.read()).value as Uint8Array).byteLength);
    wss.close({ closeCode: 4000, reason: "stream done" });
    const closed = await wss.closed;
    return { results, closed: { closeCode: closed.closeCode, reason: closed.reason } };
  }, server.wsUrl("/ws"));
  assert.equal((report as { missing?: boolean }).missing, undefined, "this Chromium has WebSocketStream");
  assert.deepEqual(report, {
    results: ["hello stream", 1024 * 1024, 1024 * 1024, 1024 * 1024, 1024 * 1024],
    closed: { closeCode: 4000, reason: "stream done" },
  });
});
