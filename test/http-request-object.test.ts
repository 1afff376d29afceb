/**
 * The Request object handlers get (src/http/request.ts): a real Request to every check (instanceof, getters, body
 * methods, clone(), `new Request(request)`, `fetch(request)`), with every header the client sent, and a signal that
 * aborts when the client leaves before the response is complete. The same cases run on Node, Deno and Bun, each
 * serving test/fixtures/http/request-object-server.ts in a child process; on Node and Deno the request skips the
 * native constructor (on Node 22+ through serve()'s global Request and fetch), on Bun it is a subclass of the
 * global Request. The Node cases run on a second Node too (test/fixtures/other-node.ts: Node 24 beside Node 20), as
 * Node 22+ takes the path through serve()'s global Request and fetch.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { RawClient, withTimeout, type WireResponse } from "./fixtures/http/harness.js";
import { otherNode } from "./fixtures/other-node.js";

const serverScript = fileURLToPath(new URL("./fixtures/http/request-object-server.js", import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

const runtimes = [
  { runtime: "node", command: [process.execPath, serverScript], lazy: true },
  ...(otherNode ? [{ runtime: "node", command: [otherNode, serverScript], lazy: true }] : []),
  { runtime: "deno", command: [bin("deno"), "run", "--allow-net", "--allow-read", "--allow-env", serverScript], lazy: true },
  { runtime: "bun", command: [bin("bun"), serverScript], lazy: false },
];

const jsonOf = (response: WireResponse) => JSON.parse(response.body.toString("utf8"));

/** Polls `read` until `done` holds (10 s at most): for states the server reaches on its own time. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (!otherNode) {
  describe("the request object on a second Node version", {
    skip: "no second Node found (BROWSER_HTTPD_TEST_NODE, or Node 24 unpacked by launcher/test-clients.mjs)",
  }, () => {});
}

for (const { runtime, command, lazy } of runtimes) {
  describe(`the request object on ${runtime === "node" ? `Node ${spawnSync(command[0]!, ["--version"], { encoding: "utf8" }).stdout.trim()}` : runtime}`, {
    timeout: 120_000,
  }, () => {
    let child: ChildProcess | undefined;
    let port = 0;
    let upstreamPort = 0;
    let stderr = "";
    const get = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, init).then((response) => response.json());
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      get(path, { method: "POST", body, headers: { "x-test": "yes", ...headers } });

    /** One request written as raw bytes; the answer parsed. */
    async function raw(request: string): Promise<WireResponse> {
      const client = await RawClient.connect(port);
      try {
        await client.write(request);
        return await client.response();
      } finally {
        client.destroy();
      }
    }

    before(async () => {
      child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      const line = await withTimeout(
        new Promise<string>((resolve, reject) => {
          createInterface({ input: child!.stdout! }).once("line", resolve);
          child!.once("exit", (code) => reject(new Error(`the ${runtime} server exited (${code}): ${stderr}`)));
        }),
        30_000,
        `the ${runtime} server to listen`,
      );
      const started = JSON.parse(line) as { runtime: string; port: number; upstreamPort: number; lazy: boolean };
      assert.equal(started.runtime, runtime);
      assert.equal(started.lazy, lazy, "whether requests skip the native constructor on this runtime");
      ({ port, upstreamPort } = started);
    });
    after(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = once(child, "exit");
        child.kill("SIGKILL");
        await withTimeout(exited, 10_000, `the ${runtime} server to exit`);
      }
      assert.equal(child?.exitCode ?? null, null, `the ${runtime} server died during the tests: ${stderr}`);
    });

    test("is a Request, with the getters of one", async () => {
      const seen = await get("/inspect/a?b=1");
      assert.equal(seen.instance, true);
      assert.equal(seen.tag, "[object Request]");
      assert.equal(seen.method, "GET");
      assert.equal(seen.url, `http://127.0.0.1:${port}/inspect/a?b=1`);
      assert.deepEqual(seen.differingGetters, [], "getters that differ from a native Request's");
      assert.equal(seen.body, null, "a GET request has no body");
      assert.equal(seen.bodyUsed, false);
    });

    test("keeps every header the client sent, forbidden ones included", async () => {
      const response = await raw(
        `GET /inspect HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://example.test\r\nCookie: a=1\r\n` +
          `Connection: keep-alive\r\nSec-WebSocket-Key: abc\r\nAccess-Control-Request-Method: PUT\r\nX-Custom: Value\r\n\r\n`,
      );
      const headers = new Map(jsonOf(response).headers as Array<[string, string]>);
      assert.equal(headers.get("host"), `127.0.0.1:${port}`);
      assert.equal(headers.get("origin"), "http://example.test");
      assert.equal(headers.get("cookie"), "a=1");
      assert.equal(headers.get("connection"), "keep-alive");
      assert.equal(headers.get("sec-websocket-key"), "abc");
      assert.equal(headers.get("access-control-request-method"), "PUT");
      assert.equal(headers.get("x-custom"), "Value");
    });

    test("method as the Request constructor normalizes it", async () => {
      const host = `Host: 127.0.0.1:${port}\r\n`;
      assert.equal(jsonOf(await raw(`get /inspect HTTP/1.1\r\n${host}\r\n`)).method, "GET");
      assert.equal(jsonOf(await raw(`Delete /inspect HTTP/1.1\r\n${host}\r\n`)).method, "DELETE");
      assert.equal(jsonOf(await raw(`patch /inspect HTTP/1.1\r\n${host}\r\n`)).method, "patch");
      assert.equal(jsonOf(await raw(`PURGE /inspect HTTP/1.1\r\n${host}\r\n`)).method, "PURGE");
    });

    test("url serialized as the runtime's URL parser does, for every character a target may hold", async () => {
      const client = await RawClient.connect(port);
      try {
        const targets: string[] = [];
        for (let code = 0x21; code < 0x7f; code++) {
          const c = String.fromCharCode(code);
          targets.push(`/inspect/a${c}b?c${c}d`, `/inspect/${c}`);
        }
        targets.push(
          "/inspect/a/../b",
          "/inspect/./a",
          "/inspect/x/%2e%2E/y",
          "/inspect/.hidden",
          "/inspect//double",
          "/inspect/%7e?x=%zz",
        );
        const hosts = [`127.0.0.1:${port}`, `LOCALHOST:${port}`, "example.test:80", "127.1", "[::1]:8080", "Example.Test."];
        for (const target of targets) await client.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
        for (const host of hosts) await client.write(`GET /inspect/x HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        for (const what of [...targets, ...hosts]) {
          const seen = jsonOf(await client.response());
          assert.equal(seen.url, seen.referenceUrl, `request.url for ${what}`);
        }
      } finally {
        client.destroy();
      }
    });

    for (const kind of ["text", "json", "arrayBuffer", "bytes", "blob", "formData", "stream"]) {
      test(`body read with ${kind}: once, then used`, async () => {
        const body = kind === "json" ? '{"a":[1,"é"]}' : kind === "formData" ? "a=1&b=%C3%A9" : "héllo wörld";
        const contentType = kind === "formData" ? "application/x-www-form-urlencoded" : "text/plain;charset=utf-8";
        const seen = await post(`/read/${kind}`, body, { "content-type": contentType });
        const expected =
          kind === "json"
            ? { a: [1, "é"] }
            : kind === "formData"
              ? [
                  ["a", "1"],
                  ["b", "é"],
                ]
              : body;
        assert.deepEqual(seen.value, expected);
        assert.equal(seen.usedBefore, false);
        assert.equal(seen.usedAfter, true);
        assert.equal(seen.readAgain, "TypeError");
        if (kind === "arrayBuffer") assert.equal(seen.isArrayBuffer, true);
        if (kind === "bytes") assert.equal(seen.isUint8Array, true);
        if (kind === "arrayBuffer" || kind === "bytes") assert.equal(seen.ownsBuffer, true, "the bytes own their whole buffer");
        if (kind === "blob") assert.equal(seen.type, "text/plain;charset=utf-8");
        if (kind === "stream") assert.equal(seen.sameStream, true);
      });
    }

    test("a large body arrives whole through text()", async () => {
      const body = "0123456789abcdef".repeat(64 * 1024);
      const seen = await post("/read/text", body);
      assert.equal(seen.value.length, body.length);
      assert.equal(seen.value, body);
    });

    test("clone() gives two readable copies", async () => {
      const seen = await post("/clone", "cloned body");
      assert.deepEqual(seen, { instance: true, clone: "cloned body", original: "cloned body", method: "POST", test: "yes" });
    });

    test("new Request(request) copies method, url, headers and body", async () => {
      const seen = await post("/copy?q=1", "copied body");
      assert.deepEqual(seen, {
        method: "POST",
        url: `http://127.0.0.1:${port}/copy?q=1`,
        test: "yes",
        body: "copied body",
        originalUsed: true,
      });
    });

    test("once the body is read, new Request(request) and clone() refuse it", async () => {
      assert.deepEqual(await post("/copy-after-read", "x"), { copy: "TypeError", clone: "TypeError" });
    });

    test("fetch(request) proxies it to the server its URL names", async () => {
      const response = await raw(
        `POST /proxy HTTP/1.1\r\nHost: 127.0.0.1:${upstreamPort}\r\nX-Test: proxied\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello proxy`,
      );
      assert.equal(response.status, 200);
      assert.deepEqual(jsonOf(response), { method: "POST", path: "/proxy", test: "proxied", body: "hello proxy" });
    });

    test("fetch(new Request(url, request)) forwards it elsewhere", async () => {
      assert.deepEqual(await post("/proxy-to", "forwarded"), { method: "POST", path: "/rewritten", test: "yes", body: "forwarded" });
    });

    describe("signal", () => {
      const outcome = (id: string) => get(`/signal-outcome?id=${id}`);

      async function leaveWhileWaiting(id: string, query: string, how: "end" | "reset", body = "") {
        const client = await RawClient.connect(port);
        try {
          const framing = body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : "";
          await client.write(`${body ? "POST" : "GET"} /signal?id=${id}${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing}\r\n${body}`);
          await until(
            () => outcome(id),
            (seen) => seen !== null,
            "the handler to start",
          );
          if (query.includes("stream")) await client.until(() => (client.received.includes("first") ? true : undefined), "the first chunk");
          if (how === "end") client.socket.end();
          else client.socket.resetAndDestroy();
          return await until(
            () => outcome(id),
            (seen) => seen.aborted,
            "the signal to abort",
          );
        } finally {
          client.destroy();
        }
      }

      test("aborts when the client closes its side while the handler waits", async () => {
        assert.equal((await leaveWhileWaiting("fin", "", "end")).aborted, true);
      });

      test("aborts when the client resets the connection", async () => {
        assert.equal((await leaveWhileWaiting("reset", "", "reset")).aborted, true);
      });

      test("aborts when the client leaves after its body was read", async () => {
        assert.equal((await leaveWhileWaiting("read", "&read", "end", "some body")).aborted, true);
      });

      test("aborts when the client leaves during a response that streams", async () => {
        assert.equal((await leaveWhileWaiting("stream", "&stream", "reset")).aborted, true);
      });

      test("stays unaborted when the client leaves after the response", async () => {
        const { connections: before } = await get("/connections");
        const client = await RawClient.connect(port);
        try {
          await client.write(`GET /signal?id=answered&answer HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
          const response = await client.response();
          assert.equal(response.body.toString(), "answered");
          client.socket.end();
          await client.serverClosed();
        } finally {
          client.destroy();
        }
        // The connection is gone on the server's side too; the signal must not have aborted on the way.
        await until(
          () => get("/connections"),
          (seen) => seen.connections <= before,
          "the server to drop the connection",
        );
        assert.deepEqual(await outcome("answered"), { aborted: false });
      });
    });
  });
}
