/**
 * browser-httpd's WebSocket server running on Deno and on Bun (their socket adapters): driven by the `ws` client,
 * and by the raw-frame conformance cases of fixtures/websocket/protocol-cases.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { echoOfFinalBlockMessage, FINAL_BLOCK_TEXT } from "./fixtures/websocket/raw-client.js";
import { runProtocolCases } from "./fixtures/websocket/protocol-cases.js";

const serverScript = fileURLToPath(new URL("./fixtures/websocket/runtime-server.js", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));
const WAIT_MS = 30_000;

const runtimes: Array<{ name: "deno" | "bun"; command: string[] }> = [
  { name: "deno", command: [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env", serverScript] },
  { name: "bun", command: [bin("bun"), serverScript] },
];

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), WAIT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function startRuntimeServer(command: string[]): Promise<{ child: ChildProcess; port: number; runtime: string }> {
  const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  const line = await withTimeout(
    new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    }),
    "server start",
  ).catch(async (error: unknown) => {
    await stopRuntimeServer(child);
    throw error;
  });
  const { port, runtime } = JSON.parse(line) as { port: number; runtime: string };
  return { child, port, runtime };
}

async function echoes(url: string, perMessageDeflate: boolean): Promise<string[]> {
  const ws = new WebSocket(url, { perMessageDeflate, maxPayload: 32 * 1024 * 1024 });
  await withTimeout(new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject))), "open");
  const failures: string[] = [];
  const next = () => withTimeout(new Promise<Buffer>((resolve) => ws.once("message", (data: Buffer) => resolve(data))), "message");
  for (const size of [0, 125, 126, 65535, 65536, 16 * 1024 * 1024]) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 1021) bytes[i] = i & 0xff;
    ws.send(bytes);
    if (!(await next()).equals(bytes)) failures.push(`binary ${size}`);
    const text = "ü".repeat(size >> 1) + "u".repeat(size & 1);
    ws.send(text);
    if ((await next()).toString() !== text) failures.push(`text ${size}`);
  }
  const closed = withTimeout(new Promise<number>((resolve) => ws.once("close", (code) => resolve(code))), "close");
  ws.close(1000);
  if ((await closed) !== 1000) failures.push("close code");
  return failures;
}

async function stopRuntimeServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill();
  await withTimeout(exited, "server exit");
}

for (const { name, command } of runtimes) {
  describe(`browser-httpd WebSocket server on ${name}`, () => {
    let server: Awaited<ReturnType<typeof startRuntimeServer>> | undefined;
    before(async () => {
      server = await startRuntimeServer(command);
    });
    after(async () => {
      if (server) await stopRuntimeServer(server.child);
    });

    it("echo with and without permessage-deflate (also a message ending with a final block), broadcast", { timeout: 120_000 }, async () => {
      const { port, runtime } = server!;
      assert.equal(runtime, name);
      assert.deepEqual(await echoes(`ws://127.0.0.1:${port}/ws`, false), []);
      assert.deepEqual(await echoes(`ws://127.0.0.1:${port}/ws`, true), []);
      assert.equal(await echoOfFinalBlockMessage(port), FINAL_BLOCK_TEXT, "a message ending with a final deflate block");
      const peers = await Promise.all(
        [1, 2, 3].map(async () => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/broadcast`);
          await withTimeout(new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject))), "open");
          return ws;
        }),
      );
      try {
        const got = peers.map((ws) =>
          withTimeout(new Promise<string>((resolve) => ws.once("message", (d: Buffer) => resolve(d.toString()))), "broadcast"),
        );
        peers[2]!.send("hi all");
        assert.deepEqual(await Promise.all(got), ["hi all", "hi all", "hi all"]);
      } finally {
        for (const ws of peers) ws.terminate();
      }
    });

    describe("raw-frame conformance", () => {
      runProtocolCases(() => ({ port: server!.port, runtime: name }));
    });
  });
}
