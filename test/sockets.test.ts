/**
 * One socket suite for every adapter: the fixture server (test/fixtures/sockets/server.ts) runs on
 * Node, Deno and Bun, each through `listen()` and so through that runtime's adapter, and raw node:net
 * clients check what arrives. A runtime that cannot be started fails the suite, unless it is named
 * in BROWSER_HTTPD_SKIP_RUNTIMES (comma-separated), which reports it as skipped.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url)); // dist/test
const projectRoot = join(here, "..", "..");
const fixtureScript = join(here, "fixtures", "sockets", "server.js");

const MiB = 1024 * 1024;
/** What the fixture's `probe-write` tries to send (kept in step with PROBE_BYTES there). */
const PROBE_BYTES = 128 * MiB;
/** What a client pushes at a server that reads nothing. */
const HOLD_BYTES = 128 * MiB;
/**
 * Bytes allowed in flight while one side does not read: kernel buffers on loopback plus the adapter's
 * bounded queues. An adapter that ignores backpressure takes the whole 128 MiB instead.
 */
const IN_FLIGHT_BOUND = 40 * MiB;
const CONCURRENT_CONNECTIONS = 100;

type RuntimeName = "node" | "deno" | "bun";

/** The fixture's `keepAliveDelay`. */
const KEEP_ALIVE_DELAY_SECONDS = 30;

interface Runtime {
  name: RuntimeName;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Deno can turn keep-alive on but not set its delay (the kernel default applies). */
  setsKeepAliveDelay: boolean;
}

const runtimes: Runtime[] = [
  { name: "node", command: process.execPath, args: [fixtureScript], setsKeepAliveDelay: true },
  {
    name: "deno",
    command: join(projectRoot, "node_modules", ".bin", "deno"),
    args: ["run", "--allow-net", "--allow-read", "--allow-env=NODE_TEST_CONTEXT", "--no-lock", fixtureScript],
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    setsKeepAliveDelay: false,
  },
  {
    name: "bun",
    command: join(projectRoot, "node_modules", ".bin", "bun"),
    args: [fixtureScript],
    setsKeepAliveDelay: true,
  },
];

const skippedRuntimes = new Set((process.env.BROWSER_HTTPD_SKIP_RUNTIMES ?? "").split(",").map((name) => name.trim()));

/** Why the runtime cannot run here, or undefined when it can. */
function unavailability(runtime: Runtime): string | undefined {
  const probe = spawnSync(runtime.command, ["--version"], { timeout: 30_000, encoding: "utf8" });
  if (probe.status === 0) return undefined;
  const reason = probe.error?.message || probe.stderr.trim() || `exit status ${probe.status}`;
  return (
    `${runtime.name} cannot be started (${runtime.command} --version: ${reason}). Install the dev dependencies ` +
    `(npm ci), or set BROWSER_HTTPD_SKIP_RUNTIMES=${runtime.name} to skip it knowingly.`
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fixture server process and what it printed. */
class FixtureProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly announced: { runtime: string; localAddress: string; localPort: number },
    private readonly output: { stderr: string },
  ) {}

  get port(): number {
    return this.announced.localPort;
  }

  /** The end of what the process wrote to stderr, for failure messages. */
  get stderr(): string {
    return this.output.stderr;
  }

  static async start(runtime: Runtime): Promise<FixtureProcess> {
    // Without NODE_TEST_CONTEXT, which tells the fixture it was started as a test file.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(runtime.command, runtime.args, { stdio: ["ignore", "pipe", "pipe"], env: { ...env, ...runtime.env } });
    const output = { stderr: "" };
    child.stderr!.on("data", (chunk: Buffer) => (output.stderr = (output.stderr + chunk.toString()).slice(-8192)));
    const firstLine = new Promise<string>((resolve, reject) => {
      let stdout = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        const newline = stdout.indexOf("\n");
        if (newline >= 0) resolve(stdout.slice(0, newline));
      });
      child.once("error", reject);
      child.once("exit", (code, signal) => reject(new Error(`exited (${code ?? signal}) before listening: ${output.stderr}`)));
    });
    try {
      const line = await withTimeout(firstLine, 30_000, `${runtime.name} fixture to print its port`);
      return new FixtureProcess(child, JSON.parse(line) as FixtureProcess["announced"], output);
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  assertRunning(): void {
    assert.ok(this.running, `the fixture server died (exit ${this.child.exitCode ?? this.child.signalCode}): ${this.stderr}`);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    await withTimeout(exited, 5_000, "fixture to exit on SIGTERM").catch(() => this.child.kill("SIGKILL"));
  }
}

function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  return withTimeout(
    once(socket, "connect").then(() => socket),
    5_000,
    `connect to ${port}`,
  ).catch((error) => {
    socket.destroy();
    throw error;
  });
}

/** Collects what a socket receives until the peer's end. */
function receiveAll(socket: net.Socket, what: string, ms = 30_000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<Buffer>((resolve, reject) => {
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`closed without an end: ${what}`)));
  });
  return withTimeout(ended, ms, what).finally(() => socket.destroy());
}

interface ExchangeOptions {
  /** End our side only once the server has ended its own (default: right after sending). */
  endAfterReply?: boolean;
}

/** Sends `command` and `payload`, ends, and returns everything the server sent back. */
async function exchange(port: number, command: string, payload?: Uint8Array, options: ExchangeOptions = {}): Promise<Buffer> {
  const socket = await connect(port);
  const reply = receiveAll(socket, command);
  socket.write(`${command}\n`);
  if (payload) socket.write(payload);
  if (options.endAfterReply) socket.once("end", () => socket.end());
  else socket.end();
  return reply;
}

async function exchangeJson<T>(port: number, command: string, payload?: Uint8Array): Promise<T> {
  return JSON.parse((await exchange(port, command, payload)).toString()) as T;
}

/** The fixture's `sink` answer. */
interface SinkReply {
  bytes: number;
  checksum: number;
  plainChunks: boolean;
}

function fnv1a(hash: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193) >>> 0;
  return hash;
}

/** Index of the first byte that breaks the pattern (byte i = i % 251) from `start` on, or -1. */
function patternMismatch(bytes: Uint8Array, start = 0): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== (start + i) % 251) return start + i;
  return -1;
}

/**
 * Seconds left on the kernel's keep-alive timer of the connection from `localPort` to `remotePort`
 * (127.0.0.1 both), from /proc/net/tcp; undefined when that timer is not running.
 */
async function keepAliveTimerSeconds(localPort: number, remotePort: number): Promise<number | undefined> {
  const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  const local = `0100007F:${hexPort(localPort)}`;
  const remote = `0100007F:${hexPort(remotePort)}`;
  for (const line of (await readFile("/proc/net/tcp", "utf8")).split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== local || fields[2] !== remote) continue;
    const [timer, jiffies] = fields[5]!.split(":");
    // Timer kind 2 is keep-alive; its time is in USER_HZ (100 per second) ticks.
    return timer === "02" ? parseInt(jiffies!, 16) / 100 : undefined;
  }
  throw new Error(`no connection ${local} -> ${remote} in /proc/net/tcp`);
}

/** The fixture's record of a `close-self <id>` connection, once it has one. */
async function settledOutcome(port: number, id: string): Promise<unknown> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const outcome = await exchangeJson<unknown>(port, `outcome ${id}`);
    if (outcome !== null) return outcome;
    await delay(50);
  }
  throw new Error(`no outcome recorded for ${id}`);
}

/**
 * Samples `read` until it stops changing (the same value `stableSamples` times running) or reaches
 * `ceiling`; returns the last value. Bounded: at most `maxSamples` samples.
 */
async function settledValue(read: () => Promise<number>, ceiling: number, stableSamples = 5, maxSamples = 200): Promise<number> {
  let last = -1;
  let unchanged = 0;
  for (let sample = 0; sample < maxSamples; sample++) {
    const value = await read();
    if (value >= ceiling) return value;
    unchanged = value === last ? unchanged + 1 : 0;
    if (unchanged >= stableSamples) return value;
    last = value;
    await delay(100);
  }
  throw new Error(`value did not settle after ${maxSamples} samples (last ${last})`);
}

for (const runtime of runtimes) {
  describe(`socket adapter on ${runtime.name}`, { timeout: 240_000 }, () => {
    const problem = unavailability(runtime);
    if (problem !== undefined) {
      const title = `runs on ${runtime.name}`;
      if (skippedRuntimes.has(runtime.name)) it(title, { skip: `named in BROWSER_HTTPD_SKIP_RUNTIMES: ${problem}` }, () => {});
      else it(title, () => assert.fail(problem));
      return;
    }

    let server: FixtureProcess;
    before(async () => {
      server = await FixtureProcess.start(runtime);
    });
    after(async () => {
      await server?.stop();
    });

    it("listens through this runtime's adapter on the address asked for", () => {
      assert.equal(server.announced.runtime, runtime.name);
      assert.equal(server.announced.localAddress, "127.0.0.1");
      assert.ok(server.port > 0 && server.port < 65536);
    });

    it("echoes every byte and ends its side after the peer's end", async () => {
      const payload = randomBytes(2 * MiB);
      const echoed = await exchange(server.port, "echo", payload);
      assert.equal(echoed.length, payload.length);
      assert.ok(echoed.equals(payload), "echoed bytes differ");
    });

    it("sends everything it wrote before its end", async () => {
      const size = 16 * MiB + 7;
      const received = await exchange(server.port, `send ${size}`, undefined, { endAfterReply: true });
      assert.equal(received.length, size);
      assert.equal(patternMismatch(received), -1);
    });

    it("keeps sending after the peer has ended its side (half-close)", async () => {
      const size = 16 * MiB + 7;
      const received = await exchange(server.port, `send ${size}`);
      assert.equal(received.length, size);
      assert.equal(patternMismatch(received), -1);
    });

    it("reads every byte up to the peer's end, in plain Uint8Array chunks", async () => {
      const payload = randomBytes(8 * MiB + 3);
      const reply = await exchangeJson<SinkReply>(server.port, "sink", payload);
      assert.deepEqual(reply, { bytes: payload.length, checksum: fnv1a(0x811c9dc5, payload), plainChunks: true });
    });

    it("reports the remote and local address and port of a connection", async () => {
      const socket = await connect(server.port);
      const reply = receiveAll(socket, "info");
      const clientPort = socket.localPort;
      socket.end("info\n");
      const info = JSON.parse((await reply).toString()) as Record<string, unknown>;
      assert.deepEqual(info, {
        remoteAddress: "127.0.0.1",
        remotePort: clientPort,
        localAddress: "127.0.0.1",
        localPort: server.port,
      });
    });

    it("turns TCP keep-alive on for accepted connections, with the delay asked for where the runtime can", async () => {
      const socket = await connect(server.port);
      try {
        socket.write("echo\nping");
        await withTimeout(once(socket, "data"), 10_000, "echo of ping"); // the server has accepted it by now
        const seconds = await keepAliveTimerSeconds(server.port, socket.localPort!);
        assert.ok(seconds !== undefined && seconds > 0, "keep-alive is off on the accepted socket");
        if (runtime.setsKeepAliveDelay) assert.ok(seconds <= KEEP_ALIVE_DELAY_SECONDS, `keep-alive timer at ${seconds} s`);
      } finally {
        socket.destroy();
      }
    });

    it(`serves ${CONCURRENT_CONNECTIONS} connections at once`, async () => {
      const payloads = Array.from({ length: CONCURRENT_CONNECTIONS }, () => randomBytes(64 * 1024));
      const sockets = await Promise.all(payloads.map(() => connect(server.port)));
      // All connected before any sends, so they are open together.
      const replies = sockets.map((socket, i) => {
        const reply = receiveAll(socket, `echo ${i}`);
        socket.write("echo\n");
        socket.end(payloads[i]);
        return reply;
      });
      const echoed = await Promise.all(replies);
      echoed.forEach((bytes, i) => {
        assert.ok(bytes.equals(payloads[i]!), `connection ${i} got other bytes back`);
      });
    });

    it("stops writing while the peer reads nothing (write backpressure), then delivers everything", async () => {
      const id = `probe-${randomBytes(4).toString("hex")}`;
      const socket = await connect(server.port);
      try {
        socket.pause();
        socket.write(`probe-write ${id}\n`);
        const stat = async () => (await exchangeJson<{ acceptedBytes: number }>(server.port, `stat ${id}`)).acceptedBytes;
        const accepted = await settledValue(stat, PROBE_BYTES);
        assert.ok(accepted > 0, "the server wrote nothing");
        assert.ok(accepted < IN_FLIGHT_BOUND, `the writer accepted ${accepted} bytes although the peer read none`);

        let received = 0;
        let mismatch = -1;
        socket.on("data", (chunk: Buffer) => {
          if (mismatch < 0) mismatch = patternMismatch(chunk, received);
          received += chunk.length;
        });
        const ended = withTimeout(once(socket, "end"), 60_000, "the probe's end");
        socket.resume();
        await ended;
        assert.equal(received, PROBE_BYTES);
        assert.equal(mismatch, -1, `pattern broken at byte ${mismatch}`);
      } finally {
        socket.destroy();
      }
    });

    it("stops reading while the consumer does not read, so TCP holds the sender back, then reads everything", async () => {
      const id = `hold-${randomBytes(4).toString("hex")}`;
      const socket = await connect(server.port);
      try {
        const reply = receiveAll(socket, "hold's reply", 60_000);
        socket.write(`hold ${id}\n`);
        const block = randomBytes(MiB);
        let checksum = 0x811c9dc5;
        let queued = 0;
        const pushedAll = (async () => {
          while (queued < HOLD_BYTES) {
            checksum = fnv1a(checksum, block);
            queued += block.length;
            if (!socket.write(block)) await once(socket, "drain");
          }
          socket.end();
        })();
        const flushed = async () => socket.bytesWritten - socket.writableLength;
        const inFlight = await settledValue(flushed, HOLD_BYTES);
        assert.ok(inFlight < IN_FLIGHT_BOUND, `the server took ${inFlight} bytes although it read none`);

        assert.equal((await exchange(server.port, `release ${id}`)).toString(), "ok\n");
        await withTimeout(pushedAll, 60_000, "pushing the rest after the release");
        const counted = JSON.parse((await reply).toString()) as SinkReply;
        assert.deepEqual(counted, { bytes: HOLD_BYTES, checksum, plainChunks: true });
      } finally {
        socket.destroy();
      }
    });

    it("survives peers that reset their connections, mid-read and mid-write", async () => {
      const before = (await exchangeJson<{ errors: number }>(server.port, "errors")).errors;

      const echoing = await connect(server.port);
      echoing.write("echo\n");
      echoing.write(randomBytes(256 * 1024));
      await withTimeout(once(echoing, "data"), 10_000, "first echoed bytes");
      echoing.resetAndDestroy();

      const receiving = await connect(server.port);
      receiving.write(`send ${64 * MiB}\n`);
      await withTimeout(once(receiving, "data"), 10_000, "first sent bytes");
      receiving.resetAndDestroy();

      const sending = await connect(server.port);
      sending.write("sink\n");
      sending.write(randomBytes(MiB));
      await delay(50); // let the server start reading before the reset
      sending.resetAndDestroy();

      // The resets reach the fixture as failed connections; the server goes on serving.
      const errors = await settledValue(async () => (await exchangeJson<{ errors: number }>(server.port, "errors")).errors - before, 3);
      assert.ok(errors >= 1, "no reset reached the fixture as an error");
      server.assertRunning();
      const payload = randomBytes(1024);
      assert.ok((await exchange(server.port, "echo", payload)).equals(payload));
    });

    it("closes a connection on close(): a pending read ends, later writes fail, the peer sees the end", async () => {
      const id = `close-${randomBytes(4).toString("hex")}`;
      const received = await exchange(server.port, `close-self ${id}`, undefined, { endAfterReply: true });
      assert.equal(received.length, 0);
      const outcome = await settledOutcome(server.port, id);
      assert.deepEqual(outcome, { read: "done", write: "rejected", closed: "resolved" });
    });

    it("stops accepting once closed, lets open connections finish, and then lets the process end", async () => {
      const open = await connect(server.port);
      const openReply = receiveAll(open, "echo across the close");
      open.write("echo\nbefore ");
      await withTimeout(once(open, "data"), 10_000, "echo before the close");

      assert.equal((await exchange(server.port, "close-server")).toString(), "closed\n");
      await assert.rejects(connect(server.port), (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED");

      open.end("after");
      assert.equal((await openReply).toString(), "before after");
      // Nothing of the adapter keeps the runtime alive once the server and its connections are closed.
      const [code] = (await withTimeout(
        server.running ? once(server.child, "exit") : Promise.resolve([server.child.exitCode]),
        10_000,
        "the fixture to exit by itself",
      )) as [number | null];
      assert.equal(code, 0, server.stderr);
    });
  });
}
