/**
 * HTTP/2 throughput: `h2load -n 100000 -c 10 -m 10` on `GET /hello` (h2c with prior knowledge) against browser-httpd's
 * serve() on Node and against node:http2, in the same run, each server alone in its own process pinned to CPU 1
 * (`taskset -c 1`) and h2load to CPU 0, after a warm-up; prints a table and the ratio.
 *
 * Run: `npx tsc -p . && node dist/bench/http2.js [--requests 100000] [--rounds 1]`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "100000" },
    rounds: { type: "string", default: "1" },
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

function h2load(port: number, requests: number): Result {
  const [command, ...args] = pin(0, ["h2load", "-n", String(requests), "-c", "10", "-m", "10", `http://127.0.0.1:${port}/hello`]);
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

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;
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
