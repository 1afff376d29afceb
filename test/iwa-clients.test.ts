/**
 * Browser clients of the server inside Chromium: an ordinary page on another local origin, in the same
 * browser, uses fetch() (with a Private Network Access request header, so a CORS preflight goes first),
 * WebSocket and WebSocketStream against the IWA's server — the prior art's client examples, made to pass.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { launchTestApp, openForeignPage, type ForeignPage, type TestApp } from "./fixtures/iwa/harness.js";
import { echoOfFinalBlockMessage, FINAL_BLOCK_TEXT } from "./fixtures/websocket/raw-client.js";

/** The app's port, free when the suite started. */
let port: number;

describe("browser clients of the server inside Chromium", { timeout: 180_000 }, () => {
  let app: TestApp;
  let page: ForeignPage;

  before(async () => {
    app = await launchTestApp();
    port = app.port;
    page = await openForeignPage(app);
  });
  after(async () => {
    await page?.close();
    await app?.dispose();
  });

  it("runs the client page on an origin other than the server's", () => {
    assert.notEqual(page.origin, new URL(app.url).origin);
  });

  it("fetch() POST with Access-Control-Request-Private-Network gets the body back", async () => {
    // Success itself is the proof that the server's CORS answers satisfied the browser.
    const result = await page.evaluate<{ status: number; text: string }>(`
      fetch(${JSON.stringify(`${app.url}echo`)}, {
        method: "POST",
        body: "test",
        headers: { "Access-Control-Request-Private-Network": "true" },
      }).then(async (response) => ({ status: response.status, text: await response.text() }))`);
    assert.deepEqual(result, { status: 200, text: "test" });
    const log = await app.evaluateInApp<Array<{ method: string; target: string }>>("browserHttpd.requests()");
    // The custom header made the browser send a preflight first.
    assert.ok(
      log.some(({ method, target }) => method === "OPTIONS" && target === "/echo"),
      JSON.stringify(log),
    );
  });

  it("WebSocket echoes text and binary", async () => {
    const echoed = await page.evaluate<string[]>(`new Promise((resolve, reject) => {
      const socket = new WebSocket(${JSON.stringify(`ws://127.0.0.1:${port}/ws`)});
      socket.binaryType = "arraybuffer";
      const received = [];
      socket.onerror = () => reject(new Error("WebSocket error"));
      socket.onopen = () => { socket.send("X"); socket.send(new Uint8Array([1, 2, 3])); };
      socket.onmessage = ({ data }) => {
        received.push(typeof data === "string" ? data : Array.from(new Uint8Array(data)).join(","));
        if (received.length === 2) { socket.close(1000); resolve(received); }
      };
      setTimeout(() => reject(new Error("no echo within 10 s: " + JSON.stringify(received))), 10000);
    })`);
    assert.deepEqual(echoed, ["X", "1,2,3"]);
  });

  it("WebSocketStream echoes, and closes cleanly", async () => {
    const result = await page.evaluate<{ echoed: string; closeCode: number }>(`(async () => {
      const wss = new WebSocketStream(${JSON.stringify(`ws://127.0.0.1:${port}/ws`)});
      const { readable, writable } = await wss.opened;
      const writer = writable.getWriter();
      const reader = readable.getReader();
      const encoder = new TextEncoder();
      const decoder = new TextDecoder();
      await writer.write(encoder.encode("X"));
      const { value } = await reader.read();
      const echoed = typeof value === "string" ? value : decoder.decode(value);
      wss.close({ closeCode: 1000, reason: "done" });
      const { closeCode } = await wss.closed;
      return { echoed, closeCode };
    })()`);
    assert.deepEqual(result, { echoed: "X", closeCode: 1000 });
  });

  it("broadcasts to every peer: a WebSocket and a WebSocketStream on /ws/broadcast", async () => {
    const result = await page.evaluate<{ streamGot: string; socketGot: string }>(`(async () => {
      const url = ${JSON.stringify(`ws://127.0.0.1:${port}/ws/broadcast`)};
      const socket = new WebSocket(url);
      const socketGot = new Promise((resolve, reject) => {
        socket.onmessage = ({ data }) => resolve(String(data));
        socket.onerror = () => reject(new Error("WebSocket error"));
      });
      await new Promise((resolve, reject) => { socket.onopen = resolve; setTimeout(() => reject(new Error("open timeout")), 10000); });
      const wss = new WebSocketStream(url);
      const { readable, writable } = await wss.opened;
      const writer = writable.getWriter();
      await writer.write("hello everyone");
      const { value } = await readable.getReader().read();
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("broadcast not received")), 10000));
      const got = await Promise.race([socketGot, timeout]);
      wss.close({ closeCode: 1000 });
      socket.close(1000);
      return { streamGot: String(value), socketGot: got };
    })()`);
    assert.equal(result.streamGot, "hello everyone");
    assert.equal(result.socketGot, "hello everyone");
  });

  it("inflates a message that ends with a final deflate block (Chromium's DecompressionStream rejects a tail after it)", async () => {
    assert.equal(await echoOfFinalBlockMessage(port), FINAL_BLOCK_TEXT);
  });

  it("counts WebSocket peers in the panel while they are open", async () => {
    const opened = await page.evaluate<boolean>(`new Promise((resolve, reject) => {
      window.heldSocket = new WebSocket(${JSON.stringify(`ws://127.0.0.1:${port}/ws`)});
      window.heldSocket.onopen = () => resolve(true);
      window.heldSocket.onerror = () => reject(new Error("WebSocket error"));
    })`);
    assert.ok(opened);
    // The server counts a peer when its handler's open() runs, which may follow the client's onopen.
    const peersSettleAt = async (expected: number) => {
      let peers = -1;
      for (let attempt = 0; attempt < 50 && peers !== expected; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        peers = (await app.evaluateInApp<{ stats: { websocketsOpen: number } }>("browserHttpd.status()")).stats.websocketsOpen;
      }
      return peers;
    };
    assert.equal(await peersSettleAt(1), 1);
    await page.evaluate(`new Promise((resolve) => { window.heldSocket.onclose = resolve; window.heldSocket.close(1000); })`);
    assert.equal(await peersSettleAt(0), 0);
  });

  it("a browser WebSocket's close() completes at once: the server ends TCP right after the closing handshake", async (t) => {
    // Chromium's client waits up to 2 s for the server's FIN before it reports the close.
    const closeMs = await page.evaluate<number>(`new Promise((resolve, reject) => {
      const socket = new WebSocket(${JSON.stringify(`ws://127.0.0.1:${port}/ws`)});
      socket.onerror = () => reject(new Error("WebSocket error"));
      socket.onopen = () => {
        const started = performance.now();
        socket.onclose = (event) => (event.wasClean ? resolve(performance.now() - started) : reject(new Error("unclean close")));
        socket.close(1000);
      };
    })`);
    t.diagnostic(`onclose ${closeMs.toFixed(1)} ms after close()`);
    assert.ok(closeMs < 1_000, `onclose ${closeMs.toFixed(0)} ms after close(): the server waited for the client's FIN`);
  });
});
