/**
 * The examples README.md points new users at (examples/*.ts), each started as its own process on Node, Deno and Bun
 * the way the README says (`node dist/examples/<name>.js`, `deno run -A`, `bun`), and used with real clients:
 * curl, fetch and `ws`.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import WebSocket from "ws";

const WAIT_MS = 15_000;
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));
const exampleScript = (name: string) => fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));

const runtimes: Array<{ name: string; command: (script: string) => string[] }> = [
  { name: "node", command: (script) => [process.execPath, script] },
  { name: "deno", command: (script) => [bin("deno"), "run", "-A", script] },
  { name: "bun", command: (script) => [bin("bun"), script] },
];

/** `what` may be a function, to describe the state at the time of the timeout. */
function withTimeout<T>(promise: Promise<T>, what: string | (() => string)): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const description = () => (typeof what === "string" ? what : what());
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${description()}`)), WAIT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface RunningExample {
  child: ChildProcess;
  port: number;
}

/** Starts an example with PORT=0 and reads the port from the URL it prints first. */
async function startExample(command: string[]): Promise<RunningExample> {
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, PORT: "0", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-4096)));
  const lines = createInterface({ input: child.stdout! });
  try {
    const line = await withTimeout(
      new Promise<string>((resolve, reject) => {
        lines.once("line", resolve);
        child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited with ${code}: ${stderr}`)));
      }),
      `${command.join(" ")} printing its URL`,
    );
    const port = /:\/\/127\.0\.0\.1:(\d+)\//.exec(line)?.[1];
    assert.ok(port, `the example's first line names its URL: ${line}`);
    return { child, port: Number(port) };
  } catch (error) {
    await stopExample(child);
    throw error;
  }
}

async function stopExample(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill();
  await withTimeout(exited, "example exit").catch(() => child.kill("SIGKILL"));
}

/** One describe block per runtime, the example running for its tests and stopped after them. */
function describeExample(example: string, tests: (port: () => number) => void): void {
  for (const runtime of runtimes) {
    describe(`examples/${example}.ts on ${runtime.name}`, () => {
      let running: RunningExample | undefined;
      before(async () => {
        running = await startExample(runtime.command(exampleScript(example)));
      });
      after(async () => {
        if (running) await stopExample(running.child);
      });
      tests(() => running!.port);
    });
  }
}

describeExample("hello", (port) => {
  it("answers curl with a greeting naming the client, 404 elsewhere", async () => {
    const curl = (path: string) =>
      promisify(execFile)("curl", ["-sS", "--max-time", "10", "-w", "\n%{http_code}", `http://127.0.0.1:${port()}${path}`]);
    assert.equal((await curl("/")).stdout, "Hello, 127.0.0.1!\n\n200");
    assert.equal((await curl("/elsewhere")).stdout, "Not Found\n\n404");
  });
});

describeExample("streaming", (port) => {
  it("streams server-sent events, one `data: tick N` event at a time", async () => {
    const controller = new AbortController();
    try {
      const response = await withTimeout(fetch(`http://127.0.0.1:${port()}/events`, { signal: controller.signal }), "events response");
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/event-stream");
      assert.equal(response.headers.get("content-length"), null, "an endless stream has no length");
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (text.split("\n\n").length <= 2) {
        const { value, done } = await withTimeout(reader.read(), "an event");
        assert.ok(!done, `the stream ended early after ${JSON.stringify(text)}`);
        text += value;
      }
      assert.equal(text, "data: tick 1\n\ndata: tick 2\n\n");
    } finally {
      controller.abort();
    }
    // The client hanging up on an endless stream leaves the server answering.
    const after = await withTimeout(fetch(`http://127.0.0.1:${port()}/elsewhere`), "request after the stream");
    assert.equal(after.status, 404);
  });

  it("counts a streamed (chunked) upload and one with Content-Length", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const chunks = 8 * 16; // 8 MiB
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === chunks) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await withTimeout(
      fetch(`http://127.0.0.1:${port()}/count`, { method: "POST", body, duplex: "half" } as RequestInit),
      "streamed upload",
    );
    assert.equal(streamed.status, 200);
    assert.deepEqual(await streamed.json(), { bytes: chunk.length * chunks });

    const whole = await withTimeout(
      fetch(`http://127.0.0.1:${port()}/count`, { method: "PUT", body: new Uint8Array(1_000_003) }),
      "upload",
    );
    assert.deepEqual(await whole.json(), { bytes: 1_000_003 });
  });
});

/** A `ws` client that keeps every message it gets, so none is missed between awaits. */
class ChatClient {
  readonly messages: string[] = [];
  private readonly socket: WebSocket;
  private waiter: (() => void) | undefined;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on("message", (data: Buffer) => {
      this.messages.push(data.toString());
      this.waiter?.();
    });
  }

  get extensions(): string {
    return this.socket.extensions;
  }

  opened(): Promise<void> {
    return withTimeout(
      new Promise((resolve, reject) => (this.socket.once("open", () => resolve()), this.socket.once("error", reject))),
      "chat open",
    );
  }

  /** Resolves once `message` has arrived (it may have already). */
  async received(message: string): Promise<void> {
    await withTimeout(
      (async () => {
        while (!this.messages.includes(message)) await new Promise<void>((resolve) => (this.waiter = resolve));
      })(),
      () => `${JSON.stringify(message)} (got ${JSON.stringify(this.messages)})`,
    );
  }

  send(message: string | Uint8Array): void {
    this.socket.send(message);
  }

  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
    this.socket.close(1000);
    return withTimeout(closed, "chat close");
  }

  terminate(): void {
    this.socket.terminate();
  }
}

describeExample("chat", (port) => {
  it("publishes joins, messages and leaves to everyone in the room, in order, compressed", async () => {
    const url = (name: string) => `ws://127.0.0.1:${port()}/chat?name=${name}`;
    const clients: ChatClient[] = [];
    const join = async (name: string) => {
      const client = new ChatClient(url(name));
      clients.push(client);
      await client.opened();
      await client.received(`${name} joined`);
      return client;
    };
    try {
      const ann = await join("ann");
      const bob = await join("bob");
      const cat = await join("cat");
      assert.match(ann.extensions, /permessage-deflate/);

      ann.send("hello");
      await Promise.all([ann, bob, cat].map((client) => client.received("ann: hello")));
      bob.send(new TextEncoder().encode("binary works too"));
      await Promise.all([ann, bob, cat].map((client) => client.received("bob: binary works too")));
      await bob.close();
      cat.send("still here");
      await Promise.all([ann, cat].map((client) => client.received("cat: still here")));

      // Everything published before the last message has arrived by now: each sees exactly what followed its join.
      assert.deepEqual(ann.messages, [
        "ann joined",
        "bob joined",
        "cat joined",
        "ann: hello",
        "bob: binary works too",
        "bob left",
        "cat: still here",
      ]);
      assert.deepEqual(bob.messages, ["bob joined", "cat joined", "ann: hello", "bob: binary works too"]);
      assert.deepEqual(cat.messages, ["cat joined", "ann: hello", "bob: binary works too", "bob left", "cat: still here"]);
    } finally {
      for (const client of clients) client.terminate();
    }
  });

  it("refuses plain HTTP on /chat (426) and WebSockets elsewhere (404)", async () => {
    const plain = await withTimeout(fetch(`http://127.0.0.1:${port()}/chat`), "plain request");
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get("upgrade"), "websocket");
    await plain.body?.cancel();
    const elsewhere = new WebSocket(`ws://127.0.0.1:${port()}/lobby`);
    const status = await withTimeout(
      new Promise<number>((resolve, reject) => {
        elsewhere.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
        elsewhere.once("open", () => reject(new Error("a WebSocket opened outside /chat")));
        elsewhere.once("error", reject);
      }),
      "refused upgrade",
    ).finally(() => elsewhere.terminate());
    assert.equal(status, 404);
  });
});
