/**
 * Throughput of the socket adapters: 100 MiB down (server `send`) and up (server `discard`) over one
 * loopback connection, through the test fixture server on Node, Deno and Bun, beside plain node:net.
 * Server pinned to CPU 1, this client to CPU 0. Run: `npx tsc -p . ; node dist/bench/sockets.js`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import * as net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./median.js";

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const projectRoot = join(here, "..", "..");
const fixtures = join(here, "..", "test", "fixtures", "sockets");
const bin = (name: string) => join(projectRoot, "node_modules", ".bin", name);

const BYTES = 100 * 1024 * 1024;
const RUNS = 7;

interface Target {
  name: string;
  command: string[];
}

const targets: Target[] = [
  { name: "node:net (reference)", command: [process.execPath, join(fixtures, "raw-node-server.js")] },
  { name: "node adapter", command: [process.execPath, join(fixtures, "server.js")] },
  {
    name: "deno adapter",
    command: [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env=NODE_TEST_CONTEXT", "--no-lock", join(fixtures, "server.js")],
  },
  { name: "bun adapter", command: [bin("bun"), join(fixtures, "server.js")] },
];

async function start(target: Target): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("taskset", ["-c", "1", ...target.command], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  return { child, port: (JSON.parse(line.toString().split("\n")[0]!) as { localPort: number }).localPort };
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  await once(socket, "connect");
  return socket;
}

/** Seconds to receive BYTES from `send`. */
async function download(port: number): Promise<number> {
  const socket = await connect(port);
  let received = 0;
  socket.on("data", (chunk: Buffer) => (received += chunk.length));
  const started = performance.now();
  socket.end(`send ${BYTES}\n`);
  await once(socket, "end");
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  if (received !== BYTES) throw new Error(`received ${received} of ${BYTES}`);
  return seconds;
}

/** Seconds until `discard` confirms BYTES. */
async function upload(port: number): Promise<number> {
  const socket = await connect(port);
  const block = Buffer.alloc(1024 * 1024, 7);
  let reply = "";
  socket.on("data", (chunk: Buffer) => (reply += chunk.toString()));
  const ended = once(socket, "end");
  const started = performance.now();
  socket.write("discard\n");
  for (let sent = 0; sent < BYTES; sent += block.length) if (!socket.write(block)) await once(socket, "drain");
  socket.end();
  await ended;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  if ((JSON.parse(reply) as { bytes: number }).bytes !== BYTES) throw new Error(`server counted ${reply}`);
  return seconds;
}

const megabytesPerSecond = (seconds: number) => BYTES / 1e6 / seconds;

spawnSync("taskset", ["-cp", "0", String(process.pid)]);
// All servers up at once and the runs interleaved, so that load from elsewhere spreads over every target.
const servers: { child: ChildProcess; port: number }[] = [];
const downs = targets.map((): number[] => []);
const ups = targets.map((): number[] => []);
try {
  for (const target of targets) servers.push(await start(target));
  for (const { port } of servers) await download(port); // warm-up
  for (let run = 0; run < RUNS; run++) {
    for (const [i, { port }] of servers.entries()) {
      downs[i]!.push(await download(port));
      ups[i]!.push(await upload(port));
    }
  }
} finally {
  for (const { child } of servers) child.kill("SIGKILL");
}
const rows = targets.map((target, i) => ({
  name: target.name,
  down: megabytesPerSecond(median(downs[i]!)),
  up: megabytesPerSecond(median(ups[i]!)),
}));

const reference = rows[0]!;
console.log(`100 MiB over one loopback connection, median of ${RUNS}, MB/s (1 MB = 10^6 bytes)`);
console.log(["", "down (server writes)", "ratio", "up (server reads)", "ratio"].join("\t"));
for (const row of rows) {
  const cells = [row.down.toFixed(0), (row.down / reference.down).toFixed(2), row.up.toFixed(0), (row.up / reference.up).toFixed(2)];
  console.log([row.name.padEnd(22), ...cells].join("\t"));
}
