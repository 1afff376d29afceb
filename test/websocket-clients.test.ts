/** browser-httpd's WebSocket APIs (Bun-, Deno- and stream-style) with the `ws` and undici clients. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { WebSocket as UndiciWebSocket } from "undici";
import { startServer, type TestServer } from "./fixtures/websocket/server.js";
import { upgradeWebSocket, upgradeWebSocketStream, type ServerWebSocket } from "../src/websocket/index.js";

const SIZES = [0, 125, 126, 65535, 65536, 16 * 1024 * 1024];
const WAIT_MS = 20_000;

let echo: TestServer;
before(async () => {
  echo = await startServer();
});
after(async () => {
  await echo.stop();
});

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), WAIT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function openWs(url: string, options?: WebSocket.ClientOptions, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    }),
    "ws open",
  );
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return withTimeout(
    new Promise((resolve) => ws.once("message", (data: Buffer, isBinary: boolean) => resolve({ data, isBinary }))),
    "ws message",
  );
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return withTimeout(
    new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }))),
    "ws close",
  );
}

for (const perMessageDeflate of [false, true]) {
  test(`ws client${perMessageDeflate ? " with permessage-deflate" : ""}: echo of boundary sizes, text and binary`, async () => {
    const ws = await openWs(echo.wsUrl(), { perMessageDeflate, maxPayload: 32 * 1024 * 1024 });
    assert.equal(ws.extensions.startsWith("permessage-deflate"), perMessageDeflate);
    for (const size of SIZES) {
      const binary = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4099) binary[i] = i & 0xff;
      ws.send(binary);
      const reply = await nextMessage(ws);
      assert.equal(reply.isBinary, true);
      assert.ok(reply.data.equals(binary), `binary ${size}`);
      const text = "ж".repeat(size >> 1) + "z".repeat(size & 1);
      ws.send(text);
      const textReply = await nextMessage(ws);
      assert.equal(textReply.isBinary, false);
      assert.equal(textReply.data.toString(), text, `text ${size}`);
    }
    const closed = closeOf(ws);
    ws.close(4001, "bye");
    assert.deepEqual(await closed, { code: 4001, reason: "bye" });
  });
}

test("ws client with context takeover offered: compressed messages, one by one and pipelined", async () => {
  // ws offers context takeover by default; the server answers client_no_context_takeover.
  const ws = new WebSocket(echo.wsUrl(), { perMessageDeflate: { threshold: 0 } });
  const answered = withTimeout(
    new Promise<string | undefined>((resolve) => ws.once("upgrade", (response) => resolve(response.headers["sec-websocket-extensions"]))),
    "upgrade",
  );
  assert.match((await answered) ?? "", /client_no_context_takeover/);
  for (let i = 0; i < 20; i++) {
    const text = `message ${i} `.repeat(200);
    ws.send(text);
    assert.equal((await nextMessage(ws)).data.toString(), text);
  }
  const texts = Array.from({ length: 50 }, (_, i) => `pipelined ${i} `.repeat(100 + i));
  const received: string[] = [];
  const all = withTimeout(
    new Promise<void>((resolve) => ws.on("message", (data: Buffer) => received.push(data.toString()) === texts.length && resolve())),
    "pipelined echoes",
  );
  for (const text of texts) ws.send(text);
  await all;
  assert.deepEqual(received, texts, "in order and intact");
  ws.close();
});

test("ws client: fragmented sends are reassembled", async () => {
  const ws = await openWs(echo.wsUrl());
  ws.send("part one, ", { fin: false });
  ws.send("part two, ", { fin: false });
  ws.send("the end", { fin: true });
  assert.equal((await nextMessage(ws)).data.toString(), "part one, part two, the end");
  ws.close();
});

test("undici WebSocket: echo and clean close", async () => {
  const ws = new UndiciWebSocket(echo.wsUrl());
  ws.binaryType = "arraybuffer";
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  ws.onmessage = (event) => {
    messages.push(event.data);
    waiters.shift()?.();
  };
  const next = async () => {
    if (!messages.length) await withTimeout(new Promise<void>((resolve) => waiters.push(resolve)), "undici message");
    return messages.shift();
  };
  await withTimeout(new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject))), "undici open");
  for (const size of SIZES) {
    const bytes = new Uint8Array(size).fill(7);
    ws.send(bytes);
    const reply = (await next()) as ArrayBuffer;
    assert.equal(reply.byteLength, size);
    ws.send("t".repeat(size));
    assert.equal(((await next()) as string).length, size);
  }
  assert.match(ws.extensions, /^permessage-deflate/);
  // Pipelined: compressed replies queue behind each other in order.
  for (let i = 0; i < 20; i++) ws.send(new Uint8Array(3000).fill(i));
  for (let i = 0; i < 20; i++) {
    const reply = new Uint8Array((await next()) as ArrayBuffer);
    assert.equal(reply.length, 3000);
    assert.equal(reply[2999], i);
  }
  const closed = withTimeout(
    new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = (e) => resolve({ code: e.code, reason: e.reason }))),
    "undici close",
  );
  ws.close(1000, "done");
  assert.deepEqual(await closed, { code: 1000, reason: "done" });
});

test("pub/sub: /ws/broadcast delivers each message to every peer, binary and text", async () => {
  const peers = await Promise.all([1, 2, 3].map(() => openWs(echo.wsUrl("/ws/broadcast"), { perMessageDeflate: true })));
  const plain = await openWs(echo.wsUrl("/ws/broadcast"), { perMessageDeflate: false });
  peers.push(plain);
  assert.equal(echo.server.subscriberCount("demo:broadcast"), 4);
  const all = (ws: WebSocket[]) => Promise.all(ws.map(nextMessage));
  let replies = all(peers);
  peers[0]!.send("hello everyone ".repeat(200));
  for (const reply of await replies) assert.equal(reply.data.toString(), "hello everyone ".repeat(200));
  replies = all(peers);
  plain.send(Buffer.from([1, 2, 3]));
  for (const reply of await replies) assert.deepEqual([...reply.data], [1, 2, 3]);
  // A server-side publish reaches everyone too.
  replies = all(peers);
  assert.ok(echo.server.publish("demo:broadcast", "from the server") > 0);
  for (const reply of await replies) assert.equal(reply.data.toString(), "from the server");
  const closing = peers.map(closeOf);
  for (const ws of peers) ws.close();
  await Promise.all(closing);
});

test("Bun-style handler: open/message/close/drain, data, subscriptions, remoteAddress", async () => {
  const events: string[] = [];
  let socket: ServerWebSocket<{ id: number }> | undefined;
  const server = await startServer(
    {
      open(ws: ServerWebSocket<{ id: number }>) {
        socket = ws;
        events.push(`open ${ws.data.id} ${ws.remoteAddress} ${ws.readyState}`);
        ws.subscribe("a");
        ws.subscribe("b");
        ws.unsubscribe("b");
      },
      message(ws: ServerWebSocket<{ id: number }>, message: string | Uint8Array) {
        events.push(`message ${String(message)} ${ws.isSubscribed("a")} ${ws.isSubscribed("b")}`);
        ws.close(4002, "server says bye");
      },
      close(ws: ServerWebSocket<{ id: number }>, code: number, reason: string) {
        events.push(`close ${ws.data.id} ${code} ${reason}`);
      },
    },
    (request, srv) =>
      srv.upgrade(request, { data: { id: 42 }, headers: { "x-extra": "yes" } }) ? undefined : new Response("no", { status: 400 }),
  );
  try {
    const ws = await openWs(server.wsUrl("/any"));
    const closed = closeOf(ws);
    ws.send("hi");
    assert.deepEqual(await closed, { code: 4002, reason: "server says bye" });
    await withTimeout(socket!.connection.closed, "server side closed");
    assert.deepEqual(events, ["open 42 127.0.0.1 1", "message hi true false", "close 42 4002 server says bye"]);
    assert.equal(server.server.pendingWebSockets, 0);
    assert.equal(server.server.subscriberCount("a"), 0, "closing unsubscribes");
  } finally {
    await server.stop();
  }
});

test("backpressure: a peer that does not read cannot grow the server's queue without bound; drain follows", async () => {
  const limit = 1024 * 1024;
  let maxBuffered = 0;
  let dropped = 0;
  let backpressured = 0;
  const chunk = new Uint8Array(64 * 1024);
  let finished!: () => void;
  const done = new Promise<void>((resolve) => (finished = resolve));
  let drained!: () => void;
  const drainedAfterResume = new Promise<void>((resolve) => (drained = resolve));
  let pumping = true;
  const server = await startServer({
    backpressureLimit: limit,
    drain() {
      if (!pumping) drained();
    },
    open(ws: ServerWebSocket<unknown>) {
      // Keep sending while the peer reads nothing, then report.
      const pump = () => {
        for (let i = 0; i < 64; i++) {
          const status = ws.send(chunk);
          if (status === 0) dropped++;
          if (status === -1) backpressured++;
          maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
        }
        if (dropped > 100) {
          pumping = false;
          finished();
        } else setTimeout(pump, 1);
      };
      pump();
    },
  });
  const paused = await openWs(server.wsUrl());
  paused.pause();
  try {
    await withTimeout(done, "sends get dropped");
    assert.ok(backpressured > 0, "sends reported backpressure before the limit");
    assert.ok(maxBuffered <= limit + chunk.length, `queue stayed bounded (max ${maxBuffered})`);
    paused.resume();
    await withTimeout(drainedAfterResume, "drain once the peer reads again");
  } finally {
    paused.terminate();
    await server.stop();
  }
});

test("Deno-style upgradeWebSocket: events, send, close", async () => {
  const log: string[] = [];
  const server = await startServer({}, (request) => {
    const { socket, response } = upgradeWebSocket(request, { protocol: "chat" });
    socket.onopen = () => log.push(`open ${socket.protocol}`);
    socket.onmessage = (event) => {
      log.push(`message ${event.data instanceof ArrayBuffer ? `bytes ${event.data.byteLength}` : event.data}`);
      socket.send(event.data as string | ArrayBuffer);
      if (event.data === "close please") socket.close(1000, "as asked");
    };
    socket.addEventListener("close", (event) => log.push(`close ${(event as unknown as { code: number }).code}`));
    return response;
  });
  try {
    const ws = await openWs(server.wsUrl(), {}, ["chat"]);
    assert.equal(ws.protocol, "chat");
    ws.send(new Uint8Array([1, 2, 3]));
    assert.equal((await nextMessage(ws)).data.length, 3);
    const closed = closeOf(ws);
    ws.send("close please");
    assert.deepEqual(await closed, { code: 1000, reason: "as asked" });
    assert.deepEqual(log.slice(0, 3), ["open chat", "message bytes 3", "message close please"]);
  } finally {
    await server.stop();
  }
  assert.throws(() => upgradeWebSocket(new Request("http://127.0.0.1/")), TypeError);
});

test("stream-style upgradeWebSocketStream: readable, writable, closed", async () => {
  let closedInfo: Promise<{ closeCode: number; reason: string }> | undefined;
  const server = await startServer({}, (request) => {
    const { stream, response } = upgradeWebSocketStream(request);
    closedInfo = stream.closed;
    void (async () => {
      const { readable, writable } = await stream.opened;
      // Echo through a transform, uppercasing text: backpressure flows through pipeTo.
      await readable
        .pipeThrough(
          new TransformStream<string | Uint8Array, string | Uint8Array>({
            transform: (m, c) => c.enqueue(typeof m === "string" ? m.toUpperCase() : m),
          }),
        )
        .pipeTo(writable)
        .catch(() => {});
    })();
    return response;
  });
  try {
    const ws = await openWs(server.wsUrl());
    ws.send("shout");
    assert.equal((await nextMessage(ws)).data.toString(), "SHOUT");
    const big = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 8; i++) ws.send(big);
    for (let i = 0; i < 8; i++) assert.equal((await nextMessage(ws)).data.length, big.length);
    const closed = closeOf(ws);
    ws.close(1000, "finished");
    await closed;
    assert.deepEqual(await withTimeout(closedInfo!, "stream closed"), { closeCode: 1000, reason: "finished" });
  } finally {
    await server.stop();
  }
});

test("shutdown closes open WebSockets with 1001", async () => {
  const server = await startServer();
  const ws = await openWs(server.wsUrl());
  const closed = closeOf(ws);
  await withTimeout(server.stop(), "shutdown");
  assert.equal((await closed).code, 1001);
});

test("invalid upgrade on a WebSocket path answers 426", async () => {
  const response = await fetch(`http://127.0.0.1:${echo.port}/ws`);
  assert.equal(response.status, 426);
  await response.body?.cancel();
});
