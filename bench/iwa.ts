/**
 * The server inside Chromium (the Isolated Web App on its native TCPServerSocket) beside its references:
 * - `GET /hello` req/s with wrk at 1 and at `--connections` keep-alive connections, and with ab (HTTP/1.0)
 *   without and with keep-alive: the IWA's demo app beside a bare TCPServerSocket responder, a minimal IWA of
 *   its own in the same Chromium (bench/bare-responder.ts: the ceiling of the socket path itself), and
 *   beside node:http; and, as a calibration, the bare responder keeping the main thread busy 20 µs per request
 *   (what that much per-request JavaScript costs on this path);
 * - WebSocket echo messages/s (`ws` clients, compression off): the IWA's /ws beside a `ws` WebSocketServer;
 * - 100 MiB download MB/s: the IWA's /download beside a bare responder answering 100 MiB (the socket path's
 *   ceiling) and beside node:http; 100 MiB upload MB/s: the IWA's /upload beside node:http doing the same work
 *   (both hash the body with the demo's JavaScript SHA-256, which bounds both near its own speed).
 * wrk runs on CPU 0 (`taskset -c 0`); the servers are not pinned (Chromium spreads a request over its browser,
 * network-service and renderer processes). After a warm-up, the contenders run interleaved for `--rounds`
 * rounds and each reports its best round, so a burst of load elsewhere on the machine hurts no one side alone.
 * Run: `npx tsc -p . ; node dist/bench/iwa.js [--duration 5] [--rounds 3] [--connections 50] [--append]`
 * (`--append` adds a dated section to bench/RESULTS.md).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { request } from "node:http";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { packageRoot } from "../launcher/build-app.js";
import { launch, type LaunchedApp } from "../launcher/launch.js";
import { type BareResponder, launchBareResponder } from "./bare-responder.js";
import { median } from "./median.js";

const { values: options } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    append: { type: "boolean", default: false },
  },
});
const duration = Number(options.duration);
const warmup = Number(options.warmup);
const connections = Number(options.connections);
const rounds = Number(options.rounds);

const appPort = 44950;
const barePort = 44951;
const busyBarePort = 44952;
const bareDownloadPort = 44953;
/** The calibration responder's busy main-thread time per request. */
const busyMicros = 20;
/** ab: requests and concurrency per run. */
const abRequests = 2000;
const abConcurrency = 10;
const MiB = 1024 * 1024;
const transferBytes = 100 * MiB;

/**
 * Node references, each printing its port on stdout: /hello, /download?bytes=N (i % 251), /upload (hashed with the
 * demo's own SHA-256, as the IWA's /upload does), and ws echo.
 */
const referenceServer = `
import http from "node:http";
import { WebSocketServer } from "ws";
import { Sha256 } from ${JSON.stringify(join(packageRoot, "dist", "app", "sha256.js"))};
const pattern = Buffer.alloc(64 * 1024 + 251);
for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://x");
  if (url.pathname === "/hello") {
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    response.end("Hello, world!");
  } else if (url.pathname === "/download") {
    const length = Number(url.searchParams.get("bytes"));
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": length });
    let sent = 0;
    const more = () => {
      while (sent < length) {
        const size = Math.min(64 * 1024, length - sent);
        const phase = sent % 251;
        sent += size;
        if (!response.write(pattern.subarray(phase, phase + size))) return response.once("drain", more);
      }
      response.end();
    };
    more();
  } else if (url.pathname === "/upload") {
    let bytes = 0;
    const hash = new Sha256();
    request.on("data", (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ bytes, sha256: hash.hex() }));
    });
  } else {
    response.writeHead(404).end();
  }
});
const sockets = new WebSocketServer({ server, perMessageDeflate: false });
sockets.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })));
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

function startReference(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", referenceServer], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding("utf8").once("data", (text: string) => resolve({ child, port: Number(text.trim()) }));
    child.once("exit", (code) => reject(new Error(`reference server exited with ${code}`)));
  });
}

function wrk(url: string, seconds: number, clients = connections): number {
  const result = spawnSync("taskset", ["-c", "0", "wrk", "-t1", `-c${clients}`, `-d${seconds}s`, "--latency", url], {
    encoding: "utf8",
    timeout: (seconds + 30) * 1000,
  });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout ?? "");
  if (!match) throw new Error(`wrk failed for ${url}: ${result.stderr || result.stdout}`);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(result.stdout);
  if (errors) process.stderr.write(`wrk ${url}: ${errors[0]}\n`);
  return Number(match[1]);
}

/** ab's requests per second, or an explanation when any request failed (a failure is never noise). */
function ab(url: string, keepAlive: boolean): number | string {
  const args = [
    "-c",
    "0",
    "ab",
    "-q",
    "-n",
    String(abRequests),
    "-c",
    String(abConcurrency),
    "-s",
    "20",
    ...(keepAlive ? ["-k"] : []),
    url,
  ];
  const result = spawnSync("taskset", args, { encoding: "utf8", timeout: 120_000 });
  const rate = /Requests per second:\s+([\d.]+)/.exec(result.stdout ?? "");
  const failed = Number(/Failed requests:\s+(\d+)/.exec(result.stdout ?? "")?.[1] ?? NaN);
  if (!rate || failed !== 0) return `ab failed: ${failed} failed requests ${(result.stderr ?? "").trim().slice(0, 200)}`;
  return Number(rate[1]);
}

/** WebSocket echo: `clients` connections, each keeping `window` messages in flight, for `seconds`. */
async function echoRate(url: string, seconds: number, clients = 10, window = 16): Promise<number> {
  const message = Buffer.alloc(32, "x");
  let echoes = 0;
  let running = true;
  const sockets = await Promise.all(
    Array.from(
      { length: clients },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(url, { perMessageDeflate: false });
          socket.once("open", () => resolve(socket));
          socket.once("error", reject);
        }),
    ),
  );
  const started = performance.now();
  for (const socket of sockets) {
    socket.on("message", () => {
      echoes++;
      if (running) socket.send(message);
    });
    for (let i = 0; i < window; i++) socket.send(message);
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.terminate();
  return echoes / elapsed;
}

/** MB/s of one 100 MiB download, or an explanation when it did not complete. */
function downloadRate(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const started = performance.now();
    let bytes = 0;
    const outgoing = request({ host: "127.0.0.1", port, path: `/download?bytes=${transferBytes}`, agent: false }, (response) => {
      response.on("data", (chunk: Buffer) => (bytes += chunk.length));
      response.once("end", () =>
        resolve(bytes === transferBytes ? bytes / MiB / ((performance.now() - started) / 1000) : `${bytes} bytes only`),
      );
      response.once("error", () => resolve(`broke after ${bytes} bytes`));
    });
    outgoing.setTimeout(20_000, () => outgoing.destroy(new Error("stalled")));
    outgoing.once("error", (error) => resolve(`failed after ${bytes} bytes: ${error.message}`));
    outgoing.end();
  });
}

function uploadRate(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const piece = Buffer.alloc(MiB, 7);
    const started = performance.now();
    const outgoing = request(
      { host: "127.0.0.1", port, path: "/upload", method: "POST", agent: false, headers: { "content-length": transferBytes } },
      (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        response.once("end", () => {
          const answered = (JSON.parse(text || "{}") as { bytes?: number }).bytes;
          resolve(answered === transferBytes ? transferBytes / MiB / ((performance.now() - started) / 1000) : `server counted ${answered}`);
        });
      },
    );
    outgoing.setTimeout(20_000, () => outgoing.destroy(new Error("stalled")));
    outgoing.once("error", (error) => resolve(`failed: ${error.message}`));
    let sent = 0;
    const more = () => {
      while (sent < transferBytes) {
        sent += piece.length;
        if (!outgoing.write(piece)) return void outgoing.once("drain", more);
      }
      outgoing.end();
    };
    more();
  });
}

interface Row {
  measure: string;
  iwa: number | string;
  reference: number | string;
  referenceName: string;
  /** The median over rounds of each round's own ratio (the two were measured one after the other). */
  pairedRatio: number | undefined;
}

function format(value: number | string): string {
  return typeof value === "number" ? value.toFixed(value < 100 ? 1 : 0) : value;
}

function ratio(a: number | string, b: number | string): string {
  return typeof a === "number" && typeof b === "number" ? `${(a / b).toFixed(2)}×` : "–";
}

async function main(): Promise<void> {
  const reference = await startReference();
  let app: LaunchedApp | undefined;
  let bareResponder: BareResponder | undefined;
  let busyResponder: BareResponder | undefined;
  let downloadResponder: BareResponder | undefined;
  try {
    app = await launch({ port: appPort, headless: true });
    bareResponder = await launchBareResponder(app.chromium, barePort);
    busyResponder = await launchBareResponder(app.chromium, busyBarePort, { busyMicros });
    downloadResponder = await launchBareResponder(app.chromium, bareDownloadPort, { bodyBytes: transferBytes });
    const appUrl = `http://127.0.0.1:${appPort}`;
    const bareUrl = `http://127.0.0.1:${barePort}`;
    const busyUrl = `http://127.0.0.1:${busyBarePort}`;
    const referenceUrl = `http://127.0.0.1:${reference.port}`;
    const contenders = {
      iwaHello1: () => wrk(`${appUrl}/hello`, duration, 1),
      bareHello1: () => wrk(`${bareUrl}/hello`, duration, 1),
      iwaHello: () => wrk(`${appUrl}/hello`, duration),
      bareHello: () => wrk(`${bareUrl}/hello`, duration),
      busyHello1: () => wrk(`${busyUrl}/hello`, duration, 1),
      busyHello: () => wrk(`${busyUrl}/hello`, duration),
      nodeHello: () => wrk(`${referenceUrl}/hello`, duration),
      iwaAb: () => ab(`${appUrl}/hello`, false),
      bareAb: () => ab(`${bareUrl}/hello`, false),
      iwaAbKeepAlive: () => ab(`${appUrl}/hello`, true),
      bareAbKeepAlive: () => ab(`${bareUrl}/hello`, true),
      iwaEcho: () => echoRate(`ws://127.0.0.1:${appPort}/ws`, duration),
      wsEcho: () => echoRate(`ws://127.0.0.1:${reference.port}/`, duration),
      iwaDownload: () => downloadRate(appPort),
      bareDownload: () => downloadRate(bareDownloadPort),
      nodeDownload: () => downloadRate(reference.port),
      iwaUpload: () => uploadRate(appPort),
      nodeUpload: () => uploadRate(reference.port),
    };
    for (const url of [`${appUrl}/hello`, `${bareUrl}/hello`, `${busyUrl}/hello`, `${referenceUrl}/hello`]) wrk(url, warmup);
    await echoRate(`ws://127.0.0.1:${appPort}/ws`, warmup);
    await echoRate(`ws://127.0.0.1:${reference.port}/`, warmup);
    const results = new Map<keyof typeof contenders, Array<number | string>>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, measure] of Object.entries(contenders) as Array<
        [keyof typeof contenders, () => Promise<number | string> | number]
      >) {
        const value = await measure();
        results.set(name, [...(results.get(name) ?? []), value]);
        process.stderr.write(`round ${round + 1} ${name}: ${format(value)}\n`);
      }
    }
    /** The best round; a failure in any round is reported instead, since a lost byte is never noise. */
    const best = (name: keyof typeof contenders): number | string => {
      const values = results.get(name)!;
      const failure = values.find((value) => typeof value === "string");
      return failure ?? Math.max(...(values as number[]));
    };
    /**
     * The median of the rounds' own ratios: each round measures the two one after the other, so a drift of the
     * machine between rounds (10–20 % here) moves both; the ratio of the bests can pair a lucky round with an
     * unlucky one.
     */
    const pairedRatio = (name: keyof typeof contenders, referenceName: keyof typeof contenders): number | undefined => {
      const values = results.get(name)!;
      const references = results.get(referenceName)!;
      const ratios = values.map((value, round) => {
        const reference = references[round];
        return typeof value === "number" && typeof reference === "number" ? value / reference : Number.NaN;
      });
      return ratios.some(Number.isNaN) ? undefined : median(ratios);
    };
    const row = (measure: string, name: keyof typeof contenders, referenceName: keyof typeof contenders, shownAs: string): Row => ({
      measure,
      iwa: best(name),
      reference: best(referenceName),
      referenceName: shownAs,
      pairedRatio: pairedRatio(name, referenceName),
    });
    const bare = "bare TCPServerSocket responder (IWA)";
    const rows: Row[] = [
      row("GET /hello req/s, wrk 1 connection", "iwaHello1", "bareHello1", bare),
      row(`GET /hello req/s, wrk ${connections} connections`, "iwaHello", "bareHello", bare),
      row(`GET /hello req/s, ab -c${abConcurrency} (HTTP/1.0, no keep-alive)`, "iwaAb", "bareAb", bare),
      row(`GET /hello req/s, ab -k -c${abConcurrency}`, "iwaAbKeepAlive", "bareAbKeepAlive", bare),
      row(`GET /hello req/s, wrk ${connections} connections`, "iwaHello", "nodeHello", "node:http"),
      row(
        `calibration: the bare responder with ${busyMicros} µs of busy JavaScript per request, req/s, wrk 1 connection`,
        "busyHello1",
        "bareHello1",
        bare,
      ),
      row(`calibration: the same, wrk ${connections} connections`, "busyHello", "bareHello", bare),
      row("WebSocket echo msgs/s", "iwaEcho", "wsEcho", "ws"),
      row("100 MiB download MB/s", "iwaDownload", "bareDownload", bare),
      row("100 MiB download MB/s", "iwaDownload", "nodeDownload", "node:http"),
      row("100 MiB upload MB/s, hashed with the demo's JavaScript SHA-256", "iwaUpload", "nodeUpload", "node:http (same hashing)"),
    ];

    const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, ${app.chromium.product}`;
    const table = [
      "| measure | IWA (in Chromium) | reference | reference value | IWA / reference | median of the rounds' ratios |",
      "| --- | ---: | --- | ---: | ---: | ---: |",
      ...rows.map(
        (row) =>
          `| ${row.measure} | ${format(row.iwa)} | ${row.referenceName} | ${format(row.reference)} | ${ratio(row.iwa, row.reference)} | ` +
          `${row.pairedRatio === undefined ? "–" : `${row.pairedRatio.toFixed(2)}×`} |`,
      ),
    ].join("\n");
    const load = loadavg()[0]!.toFixed(1);
    const settings =
      `wrk -t1 -d${duration}s and ab -n ${abRequests} on CPU 0, servers unpinned; WebSocket: 10 clients × 16 in flight, ` +
      `32-byte messages, no compression; best of ${rounds} interleaved rounds (and the median of each round's own ratio) after a ${warmup} s warm-up; ` +
      `load average ${load} at the end (other work shared the machine).`;
    process.stdout.write(`${machine}\n${settings}\n\n${table}\n`);
    if (options.append) {
      const section = `\n## ${new Date().toISOString().slice(0, 10)} — the server inside Chromium (bench/iwa.ts)\n\nMachine: ${machine}.\n${settings}\n\n${table}\n`;
      appendFileSync(join(packageRoot, "bench", "RESULTS.md"), section);
    }
  } finally {
    // Its install proxy would keep this process alive.
    await bareResponder?.close();
    await busyResponder?.close();
    await downloadResponder?.close();
    await app?.close();
    reference.child.kill();
  }
}

await main();
