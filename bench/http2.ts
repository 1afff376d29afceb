/**
 * HTTP/2 throughput: `h2load -n 100000 -c 10 -m 10` on `GET /hello` (h2c with prior knowledge) against browser-httpd's
 * serve() on Node and against node:http2, in the same run, each server alone in its own process pinned to CPU 1
 * (`taskset -c 1`) and h2load to CPU 0, after a warm-up; prints a table and the ratio.
 *
 * With `--chromium`, also the server inside Chromium (the IWA's demo app, launched headless): h2load over h2c beside
 * `h2load --h1` (HTTP/1.1 keep-alive, 10 connections, no pipelining) on the same port and in the same run.
 *
 * Run: `npx tsc -p . && node dist/bench/http2.js [--requests 100000] [--rounds 1] [--chromium]`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median } from "./median.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "100000" },
    rounds: { type: "string", default: "1" },
    chromium: { type: "boolean", default: false },
    "chromium-requests": { type: "string", default: "20000" },
  },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const BODY = "Hello, world!";
const index = fileURLToPath(new URL("../src/index.js", import.meta.url));

const servers: Record<string, string> = {
  "browser-httpd (Node)": `
    const { serve } = await import(${JSON.stringify(index)});
    const server = serve({ port: 0, fetch: () => new Response(${JSON.stringify(BODY)}, { headers: { "content-type": "text/plain" } }) });
    await server.ready();
    console.log(server.port);`,
  "node:http2": `
    const http2 = await import("node:http2");
    const server = http2.createServer((request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(${JSON.stringify(BODY)});
    });
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));`,
};

const pinned = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const pin = (cpu: number, command: string[]) => (pinned ? ["taskset", "-c", String(cpu), ...command] : command);

async function start(script: string): Promise<{ child: ChildProcess; port: number }> {
  const [command, ...args] = pin(1, [process.execPath, "--input-type=module", "-e", script]);
  const child = spawn(command!, args, { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { child, port };
}

interface Result {
  reqPerSec: number;
  succeeded: number;
  failed: number;
  errored: number;
  meanLatency: string;
}

function h2load(port: number, requests: number, http1 = false): Result {
  const protocol = http1 ? ["--h1", "-m", "1"] : ["-m", "10"];
  const [command, ...args] = pin(0, ["h2load", "-n", String(requests), "-c", "10", ...protocol, `http://127.0.0.1:${port}/hello`]);
  const run = spawnSync(command!, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  const text = run.stdout;
  const number = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return {
    reqPerSec: number(/finished in [\d.]+m?s, ([\d.]+) req\/s/),
    succeeded: number(/(\d+) succeeded/),
    failed: number(/(\d+) failed/),
    errored: number(/(\d+) errored/),
    meanLatency: /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(text)?.[1] ?? "?",
  };
}

if (spawnSync("h2load", ["--version"]).status !== 0) {
  console.error("h2load is not installed (Debian: apt-get install nghttp2-client)");
  process.exit(1);
}

const results = new Map<string, Result[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, script] of Object.entries(servers)) {
    const { child, port } = await start(script);
    try {
      h2load(port, Math.min(10_000, REQUESTS));
      const result = h2load(port, REQUESTS);
      results.set(name, [...(results.get(name) ?? []), result]);
      console.error(
        `${name}: ${result.reqPerSec.toFixed(0)} req/s, ${result.succeeded} succeeded, ${result.failed} failed, ${result.errored} errored`,
      );
    } finally {
      child.kill();
    }
  }
}

const ours = median(results.get("browser-httpd (Node)")!.map((r) => r.reqPerSec));
console.log(
  `h2load -n ${REQUESTS} -c 10 -m 10, GET /hello (h2c), ${new Date().toISOString().slice(0, 10)}, node ${process.version}${pinned ? ", server on CPU 1, h2load on CPU 0" : ""}, median of ${ROUNDS}`,
);
console.log("| server | req/s | browser-httpd ÷ this | mean latency | failed | errored |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const [name, runs] of results) {
  const reqPerSec = median(runs.map((r) => r.reqPerSec));
  const last = runs[runs.length - 1]!;
  console.log(
    `| ${name} | ${Math.round(reqPerSec).toLocaleString("en")} | ${(ours / reqPerSec).toFixed(2)} | ${last.meanLatency} | ${last.failed} | ${last.errored} |`,
  );
}

if (values.chromium) {
  const { launch } = await import("../launcher/launch.js");
  const requests = Number(values["chromium-requests"]);
  const app = await launch({ port: 44951, headless: true });
  const inChromium = new Map<string, Result[]>();
  try {
    h2load(44951, Math.min(5_000, requests));
    h2load(44951, Math.min(5_000, requests), true);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, http1] of [
        ["IWA, HTTP/2 (h2c, -m 10)", false],
        ["IWA, HTTP/1.1 (--h1, keep-alive)", true],
      ] as const) {
        const result = h2load(44951, requests, http1);
        inChromium.set(name, [...(inChromium.get(name) ?? []), result]);
        console.error(
          `${name}: ${result.reqPerSec.toFixed(0)} req/s, ${result.succeeded} succeeded, ${result.failed} failed, ${result.errored} errored`,
        );
      }
    }
  } finally {
    await app.close();
  }
  console.log(`\nInside Chromium (headless, the demo app's GET /hello), h2load -n ${requests} -c 10, median of ${ROUNDS}`);
  console.log("| protocol | req/s | mean latency | failed | errored |");
  console.log("|---|---:|---:|---:|---:|");
  for (const [name, runs] of inChromium) {
    const last = runs[runs.length - 1]!;
    console.log(
      `| ${name} | ${Math.round(median(runs.map((r) => r.reqPerSec))).toLocaleString("en")} | ${last.meanLatency} | ${last.failed} | ${last.errored} |`,
    );
  }
}
