/**
 * Static files: keep-alive GET of a 1 KiB and a 1 MiB file from a temporary folder.
 * - On Node: `serveStatic(root)` over `serve()` beside sirv on node:http (both with ETag and Last-Modified). Each server
 *   is a child process pinned to CPU 1 (`taskset -c 1`), wrk to CPU 0; besides req/s and MB/s, the server's CPU time
 *   per request (user + system, all threads, from /proc), which other load on the machine disturbs less.
 * - In Chromium: the IWA serving the folder (`launch({ served: { folder } })`: serveStatic over the bundled files)
 *   beside the bare TCPServerSocket responder (bench/bare-responder.ts) answering a body of the file's size: the
 *   ceiling of the socket path itself. Chromium is not pinned (a request crosses several of its processes).
 * Every server must first answer each file with 200 and the exact bytes (the bare responder: the right length).
 * Run: `npx tsc -p . ; node dist/bench/static.js [--duration 10] [--warmup 3] [--connections 50] [--rounds 1] [--append]`
 * (`--append` adds a dated section to bench/RESULTS.md).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { get } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { packageRoot } from "../launcher/build-app.js";
import { launch, type LaunchedApp } from "../launcher/launch.js";
import { type BareResponder, launchBareResponder } from "./bare-responder.js";
import { cpuSeconds } from "./process-cpu.js";

const { values: options } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    rounds: { type: "string", default: "1" },
    append: { type: "boolean", default: false },
  },
});
const rounds = Number(options.rounds);
const appPort = 44960;
const barePorts = [44961, 44962];

/** The folder both sides serve: fixed bytes (i % 251), so a body that is off by one shifted byte fails the check. */
const root = mkdtempSync(join(tmpdir(), "browser-httpd-static-bench-"));
const files = [
  { label: "1 KiB", path: "/1KiB.bin", bytes: 1024 },
  { label: "1 MiB", path: "/1MiB.bin", bytes: 1024 * 1024 },
].map((file) => {
  const content = Buffer.alloc(file.bytes);
  for (let i = 0; i < content.length; i++) content[i] = i % 251;
  writeFileSync(join(root, file.path), content);
  return { ...file, content };
});
type StaticFile = (typeof files)[number];

interface WrkRun {
  requestsPerSecond: number;
  /** What wrk read per second (headers included), in 10^6 bytes. */
  megabytesPerSecond: number;
  requests: number;
  /** wrk's socket errors and non-2xx answers, "none" without. */
  errors: string;
}

const binaryUnits: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

function wrk(url: string, seconds: string): WrkRun {
  const args = ["-c", "0", "wrk", "-t1", `-c${options.connections}`, `-d${seconds}s`, url];
  const run = spawnSync("taskset", args, { encoding: "utf8", timeout: (Number(seconds) + 30) * 1000 });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(run.stdout ?? "");
  const transfer = /Transfer\/sec:\s+([\d.]+)(\w+)/.exec(run.stdout ?? "");
  if (!rate || !transfer) throw new Error(`wrk failed for ${url}: ${run.stderr || run.stdout || run.error?.message}`);
  // Reported, not hidden: the bare responder has no write-loss safety (docs/chromium-direct-sockets.md).
  const errors = [/Socket errors: .*/.exec(run.stdout)?.[0], /Non-2xx or 3xx responses: \d+/.exec(run.stdout)?.[0]].filter(Boolean);
  return {
    requestsPerSecond: Number(rate[1]),
    megabytesPerSecond: (Number(transfer[1]) * (binaryUnits[transfer[2]!] ?? Number.NaN)) / 1e6,
    requests: Number(/(\d+) requests in/.exec(run.stdout)?.[1]),
    errors: errors.length ? errors.join("; ") : "none",
  };
}

/**
 * The server must answer 200 with the file's bytes (or, for the bare responder, as many bytes) before it is timed.
 * On a connection of its own: a pooled one may have been closed by the server's idle timeout while spawnSync(wrk)
 * blocked this process, and the FIN not yet seen when it is reused.
 */
function checkAnswer(url: string, file: StaticFile, lengthOnly = false): Promise<void> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("error", reject);
      response.once("end", () => {
        const body = Buffer.concat(chunks);
        const right = lengthOnly ? body.length === file.bytes : body.equals(file.content);
        if (response.statusCode === 200 && right) resolve();
        else reject(new Error(`${url} answered ${response.statusCode} with ${body.length} bytes, not the file's`));
      });
    }).once("error", reject);
  });
}

// ---- Node: serveStatic beside sirv, one pinned process per measurement ----

const nodeServers = [
  {
    name: "browser-httpd serveStatic (Node)",
    script: `import { serve, serveStatic } from ${JSON.stringify(join(packageRoot, "dist", "src", "index.js"))};
      const server = serve({ port: 0, fetch: serveStatic(${JSON.stringify(root)}) });
      await server.ready(); console.log(server.port);`,
  },
  {
    name: "sirv + node:http",
    script: `import http from "node:http"; import sirv from "sirv";
      const server = http.createServer(sirv(${JSON.stringify(root)}, { etag: true }));
      server.listen(0, "127.0.0.1", () => console.log(server.address().port));`,
  },
];
type NodeServer = (typeof nodeServers)[number];

async function startPinned(server: NodeServer): Promise<{ child: ChildProcess; port: number }> {
  // taskset execs node, so the child's pid is the server's. From the package, so that `sirv` resolves.
  const child = spawn("taskset", ["-c", "1", process.execPath, "--input-type=module", "-e", server.script], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await Promise.race([
    once(child.stdout!, "data"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`${server.name} exited (${code}) before listening`))),
  ])) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

async function measureNode(server: NodeServer, file: StaticFile): Promise<WrkRun & { cpuMicrosecondsPerRequest: number }> {
  const { child, port } = await startPinned(server);
  try {
    const url = `http://127.0.0.1:${port}${file.path}`;
    await checkAnswer(url, file);
    wrk(url, options.warmup!);
    const cpuBefore = cpuSeconds(child.pid!);
    const run = wrk(url, options.duration!);
    return { ...run, cpuMicrosecondsPerRequest: ((cpuSeconds(child.pid!) - cpuBefore) / run.requests) * 1e6 };
  } finally {
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }
}

/** Per file, each contender's best round by req/s (contenders take turns, so a burst of load hits one round). */
function keepBest<Run extends WrkRun>(best: Map<string, Run>, key: string, run: Run): void {
  const kept = best.get(key);
  if (!kept || run.requestsPerSecond > kept.requestsPerSecond) best.set(key, run);
}

/** a ÷ b, with two significant digits when small (a 0.003× must not print as 0.00×). */
const ratio = (a: number, b: number) => `${a / b < 0.1 ? (a / b).toPrecision(2) : (a / b).toFixed(2)}×`;
/** Figures below 100 keep a decimal (the IWA's 1 MiB rate is a handful of requests per second). */
const number = (value: number, digits = value < 100 ? 1 : 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function benchNode(): Promise<string> {
  const best = new Map<string, Awaited<ReturnType<typeof measureNode>>>();
  for (let round = 1; round <= rounds; round++) {
    for (const file of files) {
      for (const server of nodeServers) {
        process.stderr.write(`Node, round ${round}/${rounds}: ${file.label}: ${server.name}…\n`);
        keepBest(best, `${file.label} ${server.name}`, await measureNode(server, file));
      }
    }
  }
  const rows = files.flatMap((file) => {
    const sirv = best.get(`${file.label} sirv + node:http`)!;
    return nodeServers.map(({ name }) => {
      const run = best.get(`${file.label} ${name}`)!;
      return (
        `| ${file.label} | ${name} | ${number(run.requestsPerSecond)} | ${ratio(run.requestsPerSecond, sirv.requestsPerSecond)} | ` +
        `${number(run.megabytesPerSecond, 1)} | ${number(run.cpuMicrosecondsPerRequest, 1)} | ` +
        `${ratio(sirv.cpuMicrosecondsPerRequest, run.cpuMicrosecondsPerRequest)} | ${run.errors} |`
      );
    });
  });
  return [
    "| file | server | req/s | ÷ sirv (req/s) | MB/s | server CPU µs/req | sirv ÷ this (CPU/req) | wrk errors |",
    "|---|---|---:|---:|---:|---:|---:|---|",
    ...rows,
  ].join("\n");
}

// ---- Chromium: the IWA's serveStatic beside the bare responder ----

async function benchChromium(): Promise<{ table: string; product: string }> {
  let app: LaunchedApp | undefined;
  const bare: BareResponder[] = [];
  try {
    app = await launch({ served: { folder: root }, port: appPort, headless: true });
    // One bare responder per file size, each on its own port, both beside the IWA in the same Chromium.
    for (const [index, file] of files.entries())
      bare.push(await launchBareResponder(app.chromium, barePorts[index]!, { bodyBytes: file.bytes }));
    const contenders = files.flatMap((file, index) => [
      { key: `${file.label} IWA`, url: `http://127.0.0.1:${appPort}${file.path}`, file, lengthOnly: false },
      { key: `${file.label} bare`, url: `http://127.0.0.1:${barePorts[index]}${file.path}`, file, lengthOnly: true },
    ]);
    for (const contender of contenders) {
      await checkAnswer(contender.url, contender.file, contender.lengthOnly);
      wrk(contender.url, options.warmup!);
    }
    const best = new Map<string, WrkRun>();
    for (let round = 1; round <= rounds; round++) {
      for (const contender of contenders) {
        process.stderr.write(`Chromium, round ${round}/${rounds}: ${contender.key}…\n`);
        keepBest(best, contender.key, wrk(contender.url, options.duration!));
      }
    }
    const rows = files.map((file) => {
      const iwa = best.get(`${file.label} IWA`)!;
      const reference = best.get(`${file.label} bare`)!;
      return (
        `| ${file.label} | ${number(iwa.requestsPerSecond)} | ${number(reference.requestsPerSecond)} | ` +
        `${ratio(iwa.requestsPerSecond, reference.requestsPerSecond)} | ${number(iwa.megabytesPerSecond, 1)} | ` +
        `${number(reference.megabytesPerSecond, 1)} | ${ratio(iwa.megabytesPerSecond, reference.megabytesPerSecond)} | ` +
        `${iwa.errors} | ${reference.errors} |`
      );
    });
    const table = [
      "| file | IWA serveStatic req/s | bare responder req/s | IWA / bare (req/s) | IWA MB/s | bare MB/s | IWA / bare (MB/s) | IWA wrk errors | bare wrk errors |",
      "|---|---:|---:|---:|---:|---:|---:|---|---|",
      ...rows,
    ].join("\n");
    return { table, product: app.chromium.product };
  } finally {
    for (const responder of bare) await responder.close();
    await app?.close();
  }
}

try {
  const loadBefore = loadavg()[0]!.toFixed(1);
  const nodeTable = await benchNode();
  const chromium = await benchChromium();
  const sirvVersion = JSON.parse(readFileSync(join(packageRoot, "node_modules", "sirv", "package.json"), "utf8")).version;
  const section = [
    ``,
    `## ${new Date().toISOString().slice(0, 10)} — static files: GET of 1 KiB and 1 MiB (bench/static.ts)`,
    ``,
    `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, sirv ${sirvVersion}, ${chromium.product}.`,
    `wrk -t1 -c${options.connections} -d${options.duration}s on CPU 0 after a ${options.warmup} s warm-up, keep-alive; ` +
      `${rounds === 1 ? "one run each" : `best of ${rounds} interleaved rounds`}. Load average ${loadBefore} at the start, ` +
      `${loadavg()[0]!.toFixed(1)} at the end (other work shared the machine: req/s and MB/s suffer, CPU µs/req less).`,
    `MB/s is what wrk read (headers included) in 10^6 bytes. Command: \`node dist/bench/static.js${process.argv.length > 2 ? ` ${process.argv.slice(2).join(" ")}` : ""}\`.`,
    ``,
    `### On Node: serveStatic over serve() beside sirv on node:http (each server pinned to CPU 1)`,
    ``,
    nodeTable,
    ``,
    `### In Chromium: the IWA (\`start --static\`) beside the bare TCPServerSocket responder with a body of the file's size`,
    ``,
    `The bare responder writes a fixed reply per request with none of the server's write-loss safety; errors are wrk's, as it ` +
      `reported them (wrk counts a response slower than its 2 s timeout as a timeout, and the connection goes on).`,
    ``,
    chromium.table,
    ``,
  ].join("\n");
  process.stdout.write(section);
  if (options.append) appendFileSync(join(packageRoot, "bench", "RESULTS.md"), section);
} finally {
  rmSync(root, { recursive: true, force: true });
}
