/**
 * WebSocket throughput: browser-httpd on Node beside the `ws` server, both without compression.
 *  - echo: messages/s of 64 B and 64 KiB, 8 connections each keeping 32 messages in flight;
 *  - broadcast: deliveries/s to 100 subscribers, one publisher keeping 16 messages in flight
 *    (browser-httpd: `server.publish`, one encoded frame for all; ws: the usual loop of `client.send`).
 * Each server runs in its own process pinned to CPU 1 (`taskset -c 1`), the load generator (the `ws` client)
 * pinned to CPU 0. One measured run per case after a short warm-up. Besides the rate, the server's CPU time per
 * message (from /proc), which other load on the machine disturbs less.
 * Run: `npx tsc -p . ; node dist/bench/websocket.js [--duration 5] [--append]`
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket, { WebSocketServer } from "ws";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const serveModule = join(projectRoot, "dist", "src", "http", "serve.js");

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: "string", default: "5" },
    append: { type: "boolean", default: false },
    pinned: { type: "boolean", default: false },
  },
});

const TOPIC = "bench";

/** Server mode: `node websocket.js serve browser-httpd|ws` prints its port, echoes on /echo, broadcasts from /publish to /subscribe. */
async function runServer(kind: string): Promise<void> {
  if (kind === "browser-httpd") {
    const { serve } = (await import(serveModule)) as typeof import("../src/server/serve.js");
    const server = serve({
      port: 0,
      websocket: {
        perMessageDeflate: false,
        open(ws: { data: string; subscribe(topic: string): void }) {
          if (ws.data === "/subscribe") ws.subscribe(TOPIC);
        },
        message(ws: { data: string; send(data: string | Uint8Array): number }, message: string | Uint8Array) {
          if (ws.data === "/echo") ws.send(message);
          else if (ws.data === "/publish") server.publish(TOPIC, message);
        },
      },
      fetch: (request, info) =>
        info.server.upgrade(request, { data: new URL(request.url).pathname }) ? undefined : new Response("no", { status: 400 }),
    });
    await server.ready();
    console.log(server.port);
    return;
  }
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  const subscribers = new Set<WebSocket>();
  wss.on("connection", (ws, request) => {
    if (request.url === "/subscribe") {
      subscribers.add(ws);
      ws.on("close", () => subscribers.delete(ws));
    }
    ws.on("message", (data, isBinary) => {
      if (request.url === "/echo") ws.send(data, { binary: isBinary });
      else if (request.url === "/publish") for (const peer of subscribers) peer.send(data, { binary: isBinary });
    });
  });
  await once(wss, "listening");
  console.log((wss.address() as { port: number }).port);
}

async function startServer(kind: string): Promise<{ port: number; child: ChildProcess }> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn("taskset", ["-c", "1", process.execPath, script, "serve", kind], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(child.stdout!, "data")) as [Buffer];
  return { port: Number(line.toString().trim()), child };
}

/** CPU seconds (user + system, all threads) a process has used, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Measurement {
  /** Messages (or deliveries) per second. */
  rate: number;
  /** Server CPU microseconds per message (or delivery): less disturbed by other load than the rate. */
  cpuMicros: number;
}

/** Counts `count()` over `seconds` after a warm-up, with the server's CPU time over the same window. */
async function window(pid: number, seconds: number, count: () => number): Promise<Measurement> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const start = count();
  const startCpu = cpuSeconds(pid);
  const startTime = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const done = count() - start;
  const elapsed = (performance.now() - startTime) / 1000;
  return { rate: done / elapsed, cpuMicros: ((cpuSeconds(pid) - startCpu) * 1e6) / done };
}

function connect(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Echo messages per second over `connections` sockets with `window` messages in flight on each. */
async function echo(port: number, pid: number, size: number, seconds: number, connections = 8, inFlight = 32): Promise<Measurement> {
  const sockets = await Promise.all(Array.from({ length: connections }, () => connect(`ws://127.0.0.1:${port}/echo`)));
  const payload = Buffer.alloc(size, 0x61);
  let received = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on("message", () => {
      received++;
      if (running) ws.send(payload);
    });
    for (let i = 0; i < inFlight; i++) ws.send(payload);
  }
  const measurement = await window(pid, seconds, () => received);
  running = false;
  for (const ws of sockets) ws.terminate();
  return measurement;
}

/** Deliveries per second: one publisher, `subscribers` receivers, `window` messages not yet seen by everyone. */
async function broadcast(port: number, pid: number, seconds: number, subscriberCount = 100, inFlight = 16): Promise<Measurement> {
  const subscribers = await Promise.all(Array.from({ length: subscriberCount }, () => connect(`ws://127.0.0.1:${port}/subscribe`)));
  const publisher = await connect(`ws://127.0.0.1:${port}/publish`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const payload = Buffer.alloc(64, 0x62);
  let deliveries = 0;
  let running = true;
  const seen = new Map<number, number>();
  let nextId = 0;
  const publish = () => {
    const message = Buffer.from(payload);
    message.writeUInt32BE(nextId++, 0);
    publisher.send(message);
  };
  for (const ws of subscribers) {
    ws.on("message", (data: Buffer) => {
      deliveries++;
      const id = data.readUInt32BE(0);
      const count = (seen.get(id) ?? 0) + 1;
      if (count === subscriberCount) {
        seen.delete(id);
        if (running) publish();
      } else seen.set(id, count);
    });
  }
  for (let i = 0; i < inFlight; i++) publish();
  const measurement = await window(pid, seconds, () => deliveries);
  running = false;
  for (const ws of [...subscribers, publisher]) ws.terminate();
  return measurement;
}

async function measure(): Promise<void> {
  if (!options.pinned) {
    // Re-run pinned to CPU 0, leaving CPU 1 to the servers.
    const result = spawnSync(
      "taskset",
      ["-c", "0", process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2), "--pinned"],
      {
        stdio: "inherit",
      },
    );
    process.exit(result.status ?? 1);
  }
  const seconds = Number(options.duration);
  const cases: Array<{ name: string; run: (port: number, pid: number) => Promise<Measurement>; unit: string }> = [
    { name: "echo 64 B", run: (port, pid) => echo(port, pid, 64, seconds), unit: "msg/s" },
    { name: "echo 64 KiB", run: (port, pid) => echo(port, pid, 64 * 1024, seconds), unit: "msg/s" },
    { name: "broadcast 64 B to 100 peers", run: (port, pid) => broadcast(port, pid, seconds), unit: "deliveries/s" },
  ];
  const loadBefore = loadavg()[0]!;
  const rows: string[] = [];
  for (const { name, run, unit } of cases) {
    const figures: Record<string, Measurement> = {};
    for (const kind of ["browser-httpd", "ws"]) {
      const { port, child } = await startServer(kind);
      try {
        figures[kind] = await run(port, child.pid!);
      } finally {
        child.kill();
        await once(child, "exit");
      }
    }
    const ours = figures["browser-httpd"]!;
    const reference = figures["ws"]!;
    const rate = (m: Measurement) => `${Math.round(m.rate).toLocaleString("en")} ${unit}`;
    const cpu = (m: Measurement) => `${m.cpuMicros.toFixed(2)} µs`;
    const row =
      `| ${name} | ${rate(ours)} | ${rate(reference)} | ${(ours.rate / reference.rate).toFixed(2)}× ` +
      `| ${cpu(ours)} | ${cpu(reference)} | ${(reference.cpuMicros / ours.cpuMicros).toFixed(2)}× |`;
    console.log(row);
    rows.push(row);
  }
  const section = [
    "",
    `## WebSocket echo and broadcast — 2026-11-21 (${cpus().length} cores)`,
    "",
    `Run: \`npx tsc -p . ; node dist/bench/websocket.js --duration ${seconds}\`. Node ${process.version}; servers pinned to CPU 1,`,
    "the `ws` client load generator to CPU 0; no compression; one measured run per case. Echo: 8 connections × 32 messages",
    "in flight. Broadcast: 1 publisher, 100 subscribers, 16 messages in flight; browser-httpd `server.publish` vs a `ws` send loop.",
    `Server CPU per message = user + system time of the server process over the window / messages; its ratio is ws ÷ ours`,
    `(> 1: we use less). Load average when the run started: ${loadBefore.toFixed(1)} (other jobs share the 2 cores).`,
    "The single `ws` client process is the bottleneck of the echo cases (rate × CPU/msg shows neither server near a",
    "full core), so there the CPU column compares the servers better than the rates do.",
    "",
    "| case | browser-httpd | ws | rate ratio | browser-httpd CPU/msg | ws CPU/msg | CPU ratio |",
    "|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
  if (options.append) appendFileSync(join(projectRoot, "bench", "RESULTS.md"), section);
}

if (positionals[0] === "serve") await runServer(positionals[1] ?? "ws");
else await measure();
