/**
 * TLS 1.3 (issue 12): what the TypeScript TLS on Web Crypto (src/tls) costs, beside a reference measured in the same run.
 * - Handshakes/s: `ab -f TLS1.3 -c10` (HTTP/1.0, a new connection and a full handshake per request: ab resumes no
 *   session) of `GET /hello`, for `--duration` seconds.
 * - A 100 MiB download over one connection: `curl --http1.1 --cacert` of `GET /download?bytes=104857600` (a stream of
 *   64 KiB chunks), MiB/s over curl's whole transfer time (handshake included); and for context the same with
 *   `--http2` from browser-httpd's TLS server (serve() offers h2 first by ALPN; node:https here speaks HTTP/1.1 only).
 * On Node (`--only node`): browser-httpd's `serve({ tls })` beside `node:https` with the same certificate (a new ECDSA
 * P-256 one from createSelfSignedCertificate()) and the same trivial handler; for context the same server without TLS
 * and node:http (the plain download gives the cost of TLS itself). Every server is pinned to CPU 1, ab and curl to
 * CPU 0; besides handshakes/s, the server's CPU time per handshake (from /proc), which other load disturbs less.
 * In Chromium (`--only chromium`): the demo app launched headless with TLS (`launch({ tls })`) beside the same app
 * launched without TLS in another Chromium: the plain-HTTP figures are the reference there (ab without keep-alive
 * opens a connection per request too). Chromium is not pinned.
 * The contenders run interleaved for `--rounds` rounds after a warm-up, and each keeps its best round.
 * `--profile DIR` instead profiles browser-httpd's TLS server (on Node under `--cpu-prof`; in Chromium the app window
 * through the DevTools Profiler) during handshakes, then during downloads, and prints the functions with the most
 * self time and the project's functions with the most total time (the .cpuprofile files stay in DIR).
 * Run: `npx tsc -p . ; node dist/bench/tls.js [--only node|chromium] [--duration 3] [--rounds 3] [--append]`
 * (`--append` adds a dated section to bench/RESULTS.md; without `--only`, both parts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { packageRoot } from "../launcher/build-app.js";
import { launch, type LaunchedApp } from "../launcher/launch.js";
import { createSelfSignedCertificate } from "../src/tls/x509.js";
import { cpuSeconds } from "./process-cpu.js";

const { values: options } = parseArgs({
  options: {
    only: { type: "string" },
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    profile: { type: "string" },
    append: { type: "boolean", default: false },
  },
});
if (options.only !== undefined && options.only !== "node" && options.only !== "chromium") {
  throw new Error(`--only takes node or chromium, not ${JSON.stringify(options.only)}`);
}
const duration = Number(options.duration);
const warmup = Number(options.warmup);
const rounds = Number(options.rounds);
const concurrency = 10;
const MiB = 1024 * 1024;
const downloadBytes = 100 * MiB;
const tlsAppPort = 44970;
const plainAppPort = 44971;

const dir = mkdtempSync(join(tmpdir(), "browser-httpd-tls-bench-"));
const credentials = await createSelfSignedCertificate();
const certFile = join(dir, "cert.pem");
const keyFile = join(dir, "key.pem");
writeFileSync(certFile, credentials.certificatePem);
writeFileSync(keyFile, credentials.privateKeyPem, { mode: 0o600 });

// ---- the clients ----

interface Rate {
  perSecond: number;
  /** Requests ab completed (for the CPU per handshake). */
  requests: number;
}

/** ab's requests per second, each on a new connection, or why it failed (a failure is never noise). */
function ab(url: string, seconds: number): Rate | string {
  const tls = url.startsWith("https:") ? ["-f", "TLS1.3"] : [];
  const args = ["-c", "0", "ab", "-q", ...tls, "-t", String(seconds), "-n", "1000000", "-c", String(concurrency), "-s", "20", url];
  const run = spawnSync("taskset", args, { encoding: "utf8", timeout: (seconds + 60) * 1000 });
  const rate = /Requests per second:\s+([\d.]+)/.exec(run.stdout ?? "");
  const complete = Number(/Complete requests:\s+(\d+)/.exec(run.stdout ?? "")?.[1] ?? Number.NaN);
  const failed = Number(/Failed requests:\s+(\d+)/.exec(run.stdout ?? "")?.[1] ?? Number.NaN);
  if (!rate || failed !== 0) return `ab failed (${failed} failed): ${(run.stderr || run.stdout || "").trim().slice(-200)}`;
  if (url.startsWith("https:") && !/TLSv1\.3/.test(run.stdout)) return "ab did not speak TLS 1.3";
  return { perSecond: Number(rate[1]), requests: complete };
}

/**
 * MiB/s of one download of `bytes` by curl (verifying the certificate) over HTTP/1.1, or HTTP/2 with `http2` (over TLS
 * by ALPN h2, which serve() offers first), or why it did not complete or used another protocol.
 */
function curlDownload(url: string, bytes = downloadBytes, http2 = false): number | string {
  const args = ["-c", "0", "curl", "-sS", http2 ? "--http2" : "--http1.1", "--max-time", "120", "--cacert", certFile, "-o", "/dev/null"];
  args.push("-w", "%{http_code} %{size_download} %{time_total} %{http_version}", `${url}/download?bytes=${bytes}`);
  const run = spawnSync("taskset", args, { encoding: "utf8", timeout: 150_000 });
  const [status, size, seconds, version] = (run.stdout ?? "").trim().split(" ").map(Number);
  if (run.status !== 0 || status !== 200 || size !== bytes) return `curl: ${status} with ${size} bytes ${(run.stderr ?? "").trim()}`;
  if (version !== (http2 ? 2 : 1.1)) return `curl spoke HTTP/${version}`;
  return bytes / MiB / seconds!;
}

// ---- formatting ----

function format(value: number | string | undefined, digits = 0): string {
  if (value === undefined) return "–";
  return typeof value === "number"
    ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : value;
}

function ratio(a: number | string | undefined, b: number | string | undefined): string {
  return typeof a === "number" && typeof b === "number" ? `${(a / b).toFixed(2)}×` : "–";
}

/** Runs every contender once per round, interleaved; each keeps its best value (a failure in any round wins). */
async function interleaved<Name extends string, Value extends number | Rate>(
  contenders: Record<Name, () => Value | string | Promise<Value | string>>,
  key: (value: Value) => number,
): Promise<Record<Name, Value | string>> {
  const results = new Map<Name, Array<Value | string>>();
  for (let round = 1; round <= rounds; round++) {
    for (const [name, measure] of Object.entries(contenders) as Array<[Name, () => Value | string | Promise<Value | string>]>) {
      const value = await measure();
      results.set(name, [...(results.get(name) ?? []), value]);
      process.stderr.write(`round ${round}/${rounds} ${name}: ${typeof value === "string" ? value : format(key(value as Value), 1)}\n`);
    }
  }
  const best = {} as Record<Name, Value | string>;
  for (const [name, values] of results) {
    const failure = values.find((value) => typeof value === "string");
    best[name] = failure ?? (values as Value[]).reduce((a, b) => (key(b) > key(a) ? b : a));
  }
  return best;
}

const perSecond = (value: Rate | string | undefined) => (typeof value === "object" ? value.perSecond : value);

// ---- Node ----

const indexModule = join(packageRoot, "dist", "src", "index.js");
const demoModule = join(packageRoot, "dist", "app", "demo.js");

/** browser-httpd's serve(), with or without TLS: /download streams the demo's 64 KiB pattern pieces, anything else is /hello. */
function browserHttpdScript(tls: boolean): string {
  return `import { readFileSync } from "node:fs";
    import { serve } from ${JSON.stringify(indexModule)};
    import { patternStream } from ${JSON.stringify(demoModule)};
    process.on("SIGINT", () => process.exit(0));
    const server = serve({
      port: 0,
      ${tls ? `tls: { cert: readFileSync(${JSON.stringify(certFile)}, "utf8"), key: readFileSync(${JSON.stringify(keyFile)}, "utf8") },` : ""}
      fetch(request) {
        const url = new URL(request.url);
        if (url.pathname === "/download") {
          const length = Number(url.searchParams.get("bytes"));
          return new Response(patternStream(length), { headers: { "content-type": "application/octet-stream", "content-length": String(length) } });
        }
        return new Response("Hello, world!", { headers: { "content-type": "text/plain; charset=utf-8" } });
      },
    });
    await server.ready(); console.log(server.port);`;
}

/** node:https (or node:http) with the same handler: 64 KiB writes of the same pattern, waiting for drain. */
function nodeScript(tls: boolean): string {
  return `import { readFileSync } from "node:fs";
    import { createServer } from ${tls ? `"node:https"` : `"node:http"`};
    process.on("SIGINT", () => process.exit(0));
    const pattern = Buffer.alloc(64 * 1024 + 251);
    for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
    const server = createServer(${tls ? `{ cert: readFileSync(${JSON.stringify(certFile)}), key: readFileSync(${JSON.stringify(keyFile)}) }, ` : ""}(request, response) => {
      const url = new URL(request.url, "http://x");
      if (url.pathname !== "/download") {
        response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        return response.end("Hello, world!");
      }
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
    });
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
}

interface NodeServer {
  child: ChildProcess;
  url: string;
}

async function startPinned(script: string, tls: boolean, nodeFlags: string[] = []): Promise<NodeServer> {
  // taskset execs node, so the child's pid is the server's.
  const child = spawn("taskset", ["-c", "1", process.execPath, ...nodeFlags, "--input-type=module", "-e", script], {
    cwd: packageRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await Promise.race([
    once(child.stdout!, "data"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`a server exited (${code}) before listening`))),
  ])) as [Buffer];
  const port = Number(line.toString().trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`a server printed no port: ${line.toString()}`);
  return { child, url: `${tls ? "https" : "http"}://127.0.0.1:${port}` };
}

async function stop(server: NodeServer, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, "exit");
  server.child.kill(signal);
  await exited;
}

/** ab with the server's CPU µs per request beside its rate. */
function abWithCpu(server: NodeServer): (Rate & { cpuMicroseconds: number }) | string {
  const before = cpuSeconds(server.child.pid!);
  const rate = ab(`${server.url}/hello`, duration);
  if (typeof rate === "string") return rate;
  return { ...rate, cpuMicroseconds: ((cpuSeconds(server.child.pid!) - before) / rate.requests) * 1e6 };
}

type NodeServers = Record<"browserHttpdTls" | "nodeHttps" | "browserHttpdPlain" | "nodeHttp", NodeServer>;

/**
 * Runs `work` on four fresh servers (checked and warmed first), then stops them: the connection runs and the
 * downloads each get new processes, so neither inherits the other's heap (a download right after a few thousand
 * handshakes ran slower on the same process).
 */
async function withNodeServers<T>(work: (servers: NodeServers) => Promise<T>): Promise<T> {
  const servers: NodeServers = {
    browserHttpdTls: await startPinned(browserHttpdScript(true), true),
    nodeHttps: await startPinned(nodeScript(true), true),
    browserHttpdPlain: await startPinned(browserHttpdScript(false), false),
    nodeHttp: await startPinned(nodeScript(false), false),
  };
  try {
    for (const server of Object.values(servers)) {
      const check = ab(`${server.url}/hello`, warmup);
      if (typeof check === "string") throw new Error(`${server.url}: ${check}`);
      const download = curlDownload(server.url, 8 * MiB);
      if (typeof download === "string") throw new Error(`${server.url}: ${download}`);
    }
    return await work(servers);
  } finally {
    for (const server of Object.values(servers)) await stop(server);
  }
}

async function nodePart(): Promise<string> {
  const connections = await withNodeServers((servers) =>
    interleaved(
      {
        browserHttpdTls: () => abWithCpu(servers.browserHttpdTls),
        nodeHttps: () => abWithCpu(servers.nodeHttps),
        browserHttpdPlain: () => abWithCpu(servers.browserHttpdPlain),
        nodeHttp: () => abWithCpu(servers.nodeHttp),
      },
      (value) => value.perSecond,
    ),
  );
  const downloads = await withNodeServers((servers) =>
    interleaved(
      {
        browserHttpdTls: () => curlDownload(servers.browserHttpdTls.url),
        browserHttpdTlsHttp2: () => curlDownload(servers.browserHttpdTls.url, downloadBytes, true),
        nodeHttps: () => curlDownload(servers.nodeHttps.url),
        browserHttpdPlain: () => curlDownload(servers.browserHttpdPlain.url),
        nodeHttp: () => curlDownload(servers.nodeHttp.url),
      },
      (value) => value,
    ),
  );
  const cpu = (value: (Rate & { cpuMicroseconds: number }) | string) => (typeof value === "object" ? value.cpuMicroseconds : undefined);
  const row = (label: string, value: (Rate & { cpuMicroseconds: number }) | string, reference: typeof value, referenceName: string) =>
    `| ${label} | ${format(perSecond(value))} | ${referenceName} | ${format(perSecond(reference))} | ${ratio(perSecond(value), perSecond(reference))} | ` +
    `${format(cpu(value))} | ${format(cpu(reference))} | ${ratio(cpu(reference), cpu(value))} |`;
  const downloadRow = (label: string, value: number | string, reference: number | string, referenceName: string) =>
    `| ${label} | ${format(value, 1)} | ${referenceName} | ${format(reference, 1)} | ${ratio(value, reference)} |`;
  return [
    `### On Node: browser-httpd's serve({ tls }) beside node:https (each server pinned to CPU 1)`,
    ``,
    `| new connection per request (ab -c${concurrency}) | req/s | reference | reference req/s | ÷ reference | server CPU µs/req | reference CPU µs/req | reference ÷ this (CPU) |`,
    `|---|---:|---|---:|---:|---:|---:|---:|`,
    row("browser-httpd, TLS 1.3 handshake each", connections.browserHttpdTls, connections.nodeHttps, "node:https"),
    row("browser-httpd, TLS 1.3 handshake each", connections.browserHttpdTls, connections.browserHttpdPlain, "browser-httpd, plain HTTP"),
    row("node:https", connections.nodeHttps, connections.nodeHttp, "node:http"),
    ``,
    `| 100 MiB download, one connection (curl) | MiB/s | reference | reference MiB/s | ÷ reference |`,
    `|---|---:|---|---:|---:|`,
    downloadRow("browser-httpd, TLS 1.3", downloads.browserHttpdTls, downloads.nodeHttps, "node:https"),
    downloadRow("browser-httpd, TLS 1.3", downloads.browserHttpdTls, downloads.browserHttpdPlain, "browser-httpd, plain HTTP"),
    downloadRow("node:https", downloads.nodeHttps, downloads.nodeHttp, "node:http"),
    downloadRow(
      "browser-httpd, TLS 1.3, HTTP/2 (ALPN h2)",
      downloads.browserHttpdTlsHttp2,
      downloads.browserHttpdTls,
      "browser-httpd, TLS 1.3, HTTP/1.1",
    ),
    ``,
  ].join("\n");
}

// ---- Chromium ----

async function chromiumPart(): Promise<{ table: string; product: string }> {
  let tlsApp: LaunchedApp | undefined;
  let plainApp: LaunchedApp | undefined;
  try {
    tlsApp = await launch({
      port: tlsAppPort,
      headless: true,
      tls: { cert: credentials.certificatePem, key: credentials.privateKeyPem, certName: certFile, keyName: keyFile },
    });
    plainApp = await launch({ port: plainAppPort, headless: true });
    const tlsUrl = `https://127.0.0.1:${tlsAppPort}`;
    const plainUrl = `http://127.0.0.1:${plainAppPort}`;
    for (const url of [tlsUrl, plainUrl]) {
      const check = ab(`${url}/hello`, warmup);
      if (typeof check === "string") throw new Error(`${url}: ${check}`);
      const download = curlDownload(url, 8 * MiB);
      if (typeof download === "string") throw new Error(`${url}: ${download}`);
    }
    const connections = await interleaved(
      { tls: () => ab(`${tlsUrl}/hello`, duration), plain: () => ab(`${plainUrl}/hello`, duration) },
      (value) => value.perSecond,
    );
    const downloads = await interleaved(
      { tls: () => curlDownload(tlsUrl), plain: () => curlDownload(plainUrl), tlsHttp2: () => curlDownload(tlsUrl, downloadBytes, true) },
      (value) => value,
    );
    const table = [
      `### In Chromium: the demo app launched with TLS beside the same app launched without (two headless Chromiums)`,
      ``,
      `| measure | IWA over https (TLS 1.3) | IWA over plain HTTP | https ÷ plain |`,
      `|---|---:|---:|---:|`,
      `| new connection per request (ab -c${concurrency}), req/s | ${format(perSecond(connections.tls))} | ${format(perSecond(connections.plain))} | ${ratio(perSecond(connections.tls), perSecond(connections.plain))} |`,
      `| 100 MiB download (curl, HTTP/1.1), MiB/s | ${format(downloads.tls, 1)} | ${format(downloads.plain, 1)} | ${ratio(downloads.tls, downloads.plain)} |`,
      `| 100 MiB download over HTTP/2 (https: ALPN h2; plain: HTTP/1.1), MiB/s | ${format(downloads.tlsHttp2, 1)} | ${format(downloads.plain, 1)} | ${ratio(downloads.tlsHttp2, downloads.plain)} |`,
      ``,
    ].join("\n");
    return { table, product: tlsApp.chromium.product };
  } finally {
    await tlsApp?.close();
    await plainApp?.close();
  }
}

// ---- profile ----

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: Array<ProfileNode & { children?: number[] }>;
  samples: number[];
}

/**
 * The functions with the most self time in a .cpuprofile, then the project's own functions (src/, app/ or the IWA's
 * bundle) with the most total time (they and what they call, up to the next await), as shares of the busy samples.
 */
function topFunctions(file: string, count = 12): string[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const hits = new Map<number, number>();
  for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const nameOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/dist\//, "").replace(/^isolated-app:\/\/[^/]+\//, "")}:${lineNumber + 1}` : "";
    return `${functionName || "(anonymous)"} ${where}`.trim();
  };
  const own = (node: ProfileNode) => /\/dist\/(src|app)\/|^isolated-app:/.test(node.callFrame.url);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  for (const node of profile.nodes) {
    const samples = hits.get(node.id) ?? 0;
    if (!samples) continue;
    if (node.callFrame.functionName === "(idle)") idle += samples;
    self.set(nameOf(node), (self.get(nameOf(node)) ?? 0) + samples);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parents.get(id)) {
      const frame = nodes.get(id)!;
      if (!own(frame) || seen.has(nameOf(frame))) continue;
      seen.add(nameOf(frame));
      total.set(nameOf(frame), (total.get(nameOf(frame)) ?? 0) + samples);
    }
  }
  const busy = profile.samples.length - idle;
  const share = (samples: number, of: number) => `${((samples / of) * 100).toFixed(1).padStart(5)}%`;
  const top = (map: Map<string, number>, of: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, samples]) => `${share(samples, of)}  ${name}`);
  return [
    `self time, of all ${profile.samples.length} samples:`,
    ...top(self, profile.samples.length),
    `total time of the project's functions, of the ${busy} busy samples:`,
    ...top(total, busy),
  ];
}

function printProfile(label: string, file: string | undefined): void {
  process.stdout.write(`\n${label}: ${file ?? "no profile"}\n${file ? topFunctions(file).join("\n") : ""}\n`);
}

/** The two workloads a profile covers, against a server at `url`. */
const profiledWork = [
  ["handshakes", (url: string) => void ab(`${url}/hello`, duration * 2)],
  ["downloads", (url: string) => [1, 2].forEach(() => void curlDownload(url))],
] as const;

/** browser-httpd's TLS server on Node under --cpu-prof, one server (and profile) per workload. */
async function profileNode(directory: string): Promise<void> {
  for (const [label, work] of profiledWork) {
    const into = join(directory, `node-${label}`);
    mkdirSync(into, { recursive: true });
    const server = await startPinned(browserHttpdScript(true), true, ["--cpu-prof", "--cpu-prof-dir", into]);
    work(server.url);
    await stop(server, "SIGINT");
    const file = readdirSync(into)
      .filter((name) => name.endsWith(".cpuprofile"))
      .sort()
      .at(-1);
    printProfile(`Node, ${label}`, file && join(into, file));
  }
}

/** The app window's main thread in Chromium (the demo app with TLS), through the DevTools Profiler. */
async function profileChromium(directory: string): Promise<void> {
  const app = await launch({
    port: tlsAppPort,
    headless: true,
    tls: { cert: credentials.certificatePem, key: credentials.privateKeyPem, certName: certFile, keyName: keyFile },
  });
  try {
    const { cdp } = app.chromium;
    const session = app.appSessionId;
    await cdp.send("Profiler.enable", {}, session);
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 }, session);
    for (const [label, work] of profiledWork) {
      await cdp.send("Profiler.start", {}, session);
      work(`https://127.0.0.1:${tlsAppPort}`);
      const { profile } = await cdp.send<{ profile: unknown }>("Profiler.stop", {}, session);
      const file = join(directory, `chromium-${label}.cpuprofile`);
      mkdirSync(directory, { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
      printProfile(`Chromium app window, ${label}`, file);
    }
  } finally {
    await app.close();
  }
}

// ---- main ----

try {
  if (options.profile) {
    if (options.only !== "chromium") await profileNode(options.profile);
    if (options.only !== "node") await profileChromium(options.profile);
  } else {
    const parts = options.only ? [options.only] : ["node", "chromium"];
    const tables: string[] = [];
    let product = "";
    if (parts.includes("node")) tables.push(await nodePart());
    if (parts.includes("chromium")) {
      const chromium = await chromiumPart();
      tables.push(chromium.table);
      product = `, ${chromium.product}`;
    }
    const curlVersion = spawnSync("curl", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]!.split(" ").slice(0, 2).join(" ");
    const openssl = spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout.trim().split(" ").slice(0, 2).join(" ");
    const machine = `${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}${product}; ab and ${curlVersion} on ${openssl}`;
    const settings =
      `ab -f TLS1.3 -c${concurrency} -t ${duration} (HTTP/1.0: a new connection, and with TLS a full handshake, per request; ECDSA P-256 ` +
      `certificate, ab's default X25519) and one curl download per round, both on CPU 0; best of ${rounds} interleaved rounds ` +
      `after a warm-up; load average ${loadavg()
        .map((load) => load.toFixed(1))
        .join(", ")} at the end (other work shared the machine).`;
    const command = `node dist/bench/tls.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`;
    const section = [
      ``,
      `## ${new Date().toISOString().slice(0, 10)} — TLS 1.3 (bench/tls.ts)`,
      ``,
      `Machine: ${machine}.`,
      `${settings} Command: \`${command}\`.`,
      ``,
      ...tables,
    ].join("\n");
    process.stdout.write(`${section}\n`);
    if (options.append) appendFileSync(join(packageRoot, "bench", "RESULTS.md"), `${section}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
