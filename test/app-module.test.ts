/**
 * App modules as a user runs them: `browser-httpd serve ./app.ts` and `serve --static DIR` in a child process, asked
 * by fetch, curl and `ws`; every bad module refused with an error naming the file and the rule, by `serve` and by
 * `start` before any browser starts; and examples/app.ts on Node (`serve`), Deno (`deno serve`) and Bun (`bun`),
 * over HTTP and WebSocket (an echo of a text and a binary message on each).
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { curl, withTimeout } from "./fixtures/http/harness.js";
import { freePort } from "./fixtures/iwa/free-port.js";
import { exampleApp, type Project, writeProject } from "./fixtures/app-module/project.js";
import { cli, runCli } from "./fixtures/cli.js";

const staticSite = fileURLToPath(new URL("../../examples/static-site/", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

interface Running {
  child: ChildProcess;
  /** The server's base URL, without the trailing slash. */
  base: string;
  output: () => string;
}

/** Starts `command` in `cwd` and waits for the first line with http://127.0.0.1:N or http://localhost:N in its output. */
async function start(command: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Running> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  try {
    const port = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const read = (chunk: Buffer) => {
          output += chunk.toString();
          // Up to the line's end: output may arrive cut inside the port number.
          const port = /http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/?\s/.exec(output)?.[1];
          if (port) resolve(port);
        };
        child.stdout!.on("data", read);
        child.stderr!.on("data", read);
        child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited (${code}): ${output}`)));
      }),
      30_000,
      `${command.join(" ")} to listen`,
    );
    return { child, base: `http://127.0.0.1:${port}`, output: () => output };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** Waits until the output of `running` matches `pattern`. */
async function waitForOutput(running: Running, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(running.output())) {
    if (Date.now() > deadline) assert.fail(`no ${pattern} in the output: ${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Opens a WebSocket, sends `bytes` as a binary message, resolves with the first message back (binary too). */
async function echoBinaryOverWebSocket(url: string, bytes: Uint8Array): Promise<Uint8Array> {
  const socket = new WebSocket(url);
  try {
    await withTimeout(once(socket, "open"), 10_000, "the WebSocket to open");
    socket.send(bytes);
    const [data, isBinary] = (await withTimeout(once(socket, "message"), 10_000, "the echo")) as [Buffer, boolean];
    assert.equal(isBinary, true, "a binary message echoed as binary");
    return new Uint8Array(data);
  } finally {
    socket.close();
  }
}

async function stop(running: Running | undefined): Promise<void> {
  const child = running?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await withTimeout(exited, 10_000, "the server to exit");
}

/** Opens a WebSocket, sends `message`, resolves with the first message back. */
async function echoOverWebSocket(url: string, message: string): Promise<string> {
  const socket = new WebSocket(url);
  try {
    await withTimeout(once(socket, "open"), 10_000, "the WebSocket to open");
    socket.send(message);
    const [data] = (await withTimeout(once(socket, "message"), 10_000, "the echo")) as [Buffer];
    return data.toString();
  } finally {
    socket.close();
  }
}

describe("browser-httpd serve ./app.ts", { timeout: 90_000 }, () => {
  let project: Project;
  let server: Running | undefined;

  before(async () => {
    project = await writeProject();
    server = await start([process.execPath, cli, "serve", "app.ts", "--port", "0"], { cwd: project.dir });
  });
  after(async () => {
    await stop(server);
    await project?.remove();
  });

  it("runs the module: its routes, the npm package it imports from its node_modules, browser-httpd's own classes", async () => {
    await waitForOutput(server!, /^app\.ts listening on http:\/\/127\.0\.0\.1:\d+\/$/m);
    assert.equal(await (await fetch(`${server!.base}/greet?name=Ada`)).text(), "Hello, Ada, from an npm package!\n");
    assert.equal(await (await fetch(`${server!.base}/fast`)).text(), "true");
    const echoed = await fetch(`${server!.base}/echo`, { method: "POST", body: "a body", headers: { "content-type": "text/x-test" } });
    assert.equal(echoed.headers.get("content-type"), "text/x-test");
    assert.equal(await echoed.text(), "a body");
    const page = await curl(["--silent", "--include", `${server!.base}/`]);
    assert.equal(page.code, 0);
    assert.match(
      page.stdout.toString(),
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-type: text\/html; charset=utf-8\r\n[\s\S]*Hello from an app module/,
    );
  });

  it("WebSocket: the module's websocket handlers, after info.server.upgrade", async () => {
    assert.equal(await echoOverWebSocket(`${server!.base.replace("http", "ws")}/ws`, "ping over ws"), "ping over ws");
  });

  it("the module's onError answers a handler's throw, and its onListen ran", async () => {
    const response = await fetch(`${server!.base}/boom`);
    assert.equal(response.status, 503);
    assert.equal(await response.text(), "onError: boom\n");
    await waitForOutput(server!, /^onListen http:\/\/127\.0\.0\.1:\d+\/$/m);
  });
});

describe("a module's port and hostname, and --port and --host over them", { timeout: 60_000 }, () => {
  let project: Project;
  let fixedPort: number;
  before(async () => {
    fixedPort = await freePort();
    project = await writeProject({
      "fixed.ts": `export default { port: ${fixedPort}, hostname: "127.0.0.1", fetch: () => new Response("fixed") };`,
      // Port 1 needs privileges: only --port can make this one listen.
      "low.ts": 'export default { port: 1, hostname: "192.0.2.1", fetch: () => new Response("low") };',
      // CommonJS that requires a Node module: the bundle gives it a require().
      "node_modules/uses-node/index.js": 'const { posix } = require("node:path"); module.exports = posix.join("a", "b");',
      "uses-node.ts": 'import joined from "uses-node"; export default { fetch: () => new Response(joined) };',
    });
  });
  after(() => project?.remove());

  it("the module's own port is used when no --port is given", async () => {
    const fixed = await start([process.execPath, cli, "serve", project.path("fixed.ts")]);
    try {
      assert.equal(fixed.base, `http://127.0.0.1:${fixedPort}`);
      assert.equal(await (await fetch(`${fixed.base}/`)).text(), "fixed");
    } finally {
      await stop(fixed);
    }
  });

  it("--port and --host win over the module's", async () => {
    const low = await start([process.execPath, cli, "serve", "low.ts", "--port", "0", "--host", "127.0.0.1"], { cwd: project.dir });
    try {
      assert.equal(await (await fetch(`${low.base}/`)).text(), "low");
    } finally {
      await stop(low);
    }
  });

  it("a CommonJS package that requires Node's modules works in a module served on Node", async () => {
    const server = await start([process.execPath, cli, "serve", "uses-node.ts", "--port", "0"], { cwd: project.dir });
    try {
      assert.equal(await (await fetch(`${server.base}/`)).text(), "a/b");
    } finally {
      await stop(server);
    }
  });
});

describe("browser-httpd serve --static DIR", { timeout: 60_000 }, () => {
  let server: Running | undefined;
  before(async () => {
    server = await start([process.execPath, cli, "serve", "--static", staticSite, "--port", "0"]);
  });
  after(() => stop(server));

  it("serves the folder's files with types and validators, lists folders without an index, 404s the rest", async () => {
    await waitForOutput(server!, /static-site \(static files\) listening on http:\/\//);
    const page = await fetch(`${server!.base}/`);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(await page.text(), /A static site on browser-httpd/);
    const css = await curl(["--silent", "--include", `${server!.base}/css/site.css`]);
    const cssHead = css.stdout.toString().split("\r\n\r\n")[0]!;
    assert.match(cssHead, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(cssHead, /\r\ncontent-type: text\/css; charset=utf-8(\r\n|$)/);
    assert.match(cssHead, /\r\netag: W\/"/);
    assert.match(await (await fetch(`${server!.base}/notes/`)).text(), /<a href="hello\.txt">hello\.txt<\/a>/);
    assert.equal((await fetch(`${server!.base}/missing`)).status, 404);
    const traversal = await curl([
      "--silent",
      "--path-as-is",
      "--output",
      "/dev/null",
      "--write-out",
      "%{http_code}",
      `${server!.base}/%2e%2e/package.json`,
    ]);
    assert.equal(traversal.stdout.toString(), "400");
  });
});

describe("bad modules: the error names the file and the rule", { timeout: 120_000 }, () => {
  let project: Project;
  const cases: Array<{ file: string; source?: string; error: RegExp }> = [
    { file: "missing.ts", error: /^browser-httpd: missing\.ts: no such file$/m },
    {
      file: "syntax.ts",
      source: "const x = {\n  fetch() { return 1 +; },\n};\nexport default x;\n",
      error: /^browser-httpd: syntax\.ts:2:23: Unexpected ";"$/m,
    },
    {
      file: "unresolved.ts",
      source: 'import thing from "no-such-package";\nexport default { fetch: () => new Response(thing) };\n',
      error: /^browser-httpd: unresolved\.ts:1:19: Could not resolve "no-such-package"$/m,
    },
    {
      file: "imports-broken.ts",
      source: 'import { word } from "./broken.ts";\nexport default { fetch: () => new Response(word) };\n',
      error: /^browser-httpd: imports-broken\.ts does not build:\n {2}broken\.ts:1:25: Expected ";" but found "word"$/m,
    },
    {
      file: "named.ts",
      source: "export const fetch = () => new Response('hi');\n",
      error: /^browser-httpd: named\.ts: has no default export; an app module ends with `export default \{ fetch/m,
    },
    {
      file: "no-fetch.ts",
      source: "export default { port: 8080 };\n",
      error: /^browser-httpd: no-fetch\.ts: the default export has no fetch; it needs fetch\(request, info\) returning a Response$/m,
    },
    {
      file: "string-fetch.js",
      source: 'export default { fetch: "hi" };\n',
      error: /^browser-httpd: string-fetch\.js: fetch must be a function, not "hi"$/m,
    },
    {
      file: "function.ts",
      source: "export default function (request: Request) { return new Response('hi'); }\n",
      error:
        /^browser-httpd: function\.ts: the default export must be an object with a fetch method, not a function \(a function\? export default \{ fetch: yourFunction \}\)$/m,
    },
    {
      file: "port.ts",
      source: "export default { port: 70000, fetch: () => new Response('hi') };\n",
      error: /^browser-httpd: port\.ts: port must be an integer from 0 to 65535 \(0 picks a free one\), not number 70000$/m,
    },
    {
      file: "port-text.mjs",
      source: "export default { port: '8080', fetch: () => new Response('hi') };\n",
      error: /^browser-httpd: port-text\.mjs: port must be an integer from 0 to 65535 \(0 picks a free one\), not "8080"$/m,
    },
    {
      file: "throws.ts",
      source: 'throw new Error("no config");\nexport default { fetch: () => new Response("hi") };\n',
      error: /^browser-httpd: throws\.ts: threw while loading: Error: no config\n\s+at .*throws\.ts:1:7/m,
    },
  ];

  before(async () => {
    project = await writeProject({
      ...Object.fromEntries(cases.filter((c) => c.source !== undefined).map((c) => [c.file, c.source!])),
      "broken.ts": 'export const word = "a" word;\n',
      "node-fs.ts": 'import { readFileSync } from "node:fs";\nexport default { fetch: () => new Response(readFileSync("app.ts")) };\n',
    });
  });
  after(() => project?.remove());

  for (const { file, error } of cases) {
    it(`serve ${file}`, async () => {
      const result = await runCli(["serve", file, "--port", "0"], project.dir);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, error);
    });
  }

  it("start refuses each of them before starting a browser", async () => {
    // A browser that does not exist: reaching it would be another error.
    for (const { file, error } of cases.filter((c) => c.file !== "throws.ts")) {
      const result = await runCli(["start", file, "--chrome", "/nonexistent/chromium"], project.dir);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, new RegExp(error.source.replace("^browser-httpd: ", "^browser-httpd start: "), "m"), file);
    }
  });

  it("start refuses a module that imports Node's modules: it would run in Chromium (serve runs it)", async () => {
    const result = await runCli(["start", "node-fs.ts", "--chrome", "/nonexistent/chromium"], project.dir);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^browser-httpd start: node-fs\.ts:1:30: Could not resolve "node:fs" \(the app runs in Chromium, which has no node:\* modules\)$/m,
    );
  });

  it("start checks on Node what loads there; a module that does not is left to the app, with a note", async () => {
    // A throw on Node does not stop start: the module may need the browser (its window, its storage) to load.
    // A free port, so that the start gets as far as the browser even while another app holds 44818.
    const result = await runCli(
      ["start", "throws.ts", "--port", String(await freePort()), "--chrome", "/nonexistent/chromium"],
      project.dir,
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^throws\.ts does not load on Node \(no config\): the app checks its default export when it starts\.$/m);
    assert.match(result.stderr, /^browser-httpd start: .*\/nonexistent\/chromium/m);
  });

  for (const command of ["serve", "start"]) {
    it(`${command} refuses a folder that is not there, and a module given with --static`, async () => {
      const noBrowser = command === "start" ? ["--chrome", "/nonexistent/chromium"] : [];
      const missing = await runCli([command, "--static", "no-such-folder", ...noBrowser], project.dir);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^browser-httpd( start)?: no-such-folder: no such folder \(--static serves a folder\)$/m);
      const both = await runCli([command, "app.ts", "--static", "."], project.dir);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /one app module \(\w+ \.\/app\.ts\) or one folder/);
    });
  }
});

describe("examples/app.ts on Node, Deno and Bun, started the way README.md says", { timeout: 90_000 }, () => {
  const runtimes: Array<{ name: string; command: (port: number) => string[]; env?: (port: number) => Record<string, string> }> = [
    { name: "Node (browser-httpd serve)", command: (port) => [process.execPath, cli, "serve", exampleApp, "--port", String(port)] },
    { name: "Deno (deno serve)", command: (port) => [bin("deno"), "serve", "--host", "127.0.0.1", "--port", String(port), exampleApp] },
    { name: "Bun (bun app.ts)", command: () => [bin("bun"), exampleApp], env: (port) => ({ PORT: String(port) }) },
  ];
  for (const { name, command, env } of runtimes) {
    it(name, async () => {
      const port = await freePort();
      const server = await start(command(port), { env: env?.(port) });
      try {
        assert.equal(server.base, `http://127.0.0.1:${port}`);
        assert.equal(await (await fetch(`${server.base}/hello`)).text(), "Hello, world!\n");
        const echoed = await fetch(`${server.base}/echo`, { method: "POST", body: "echo me" });
        assert.equal(await echoed.text(), "echo me");
        const page = await fetch(`${server.base}/`);
        assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
        assert.match(await page.text(), /Hello from an app module/);
        assert.equal((await fetch(`${server.base}/nothing`)).status, 404);
        // The WebSocket route: browser-httpd's upgrade on Node, Bun's server.upgrade, Deno's upgradeWebSocket.
        assert.equal(await echoOverWebSocket(`ws://127.0.0.1:${port}/ws`, `hi from ${name}`), `hi from ${name}`);
        const binary = await echoBinaryOverWebSocket(`ws://127.0.0.1:${port}/ws`, new Uint8Array([0, 1, 2, 255]));
        assert.deepEqual([...binary], [0, 1, 2, 255]);
        assert.equal((await fetch(`${server.base}/ws`)).status, 426, "a plain GET of the WebSocket route");
      } finally {
        await stop(server);
      }
    });
  }
});
