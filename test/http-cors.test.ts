/**
 * The opt-in CORS helper with Private Network Access through serve() on the Node adapter: preflights
 * answered without reaching the handler (including `Access-Control-Request-Private-Network: true` →
 * `Access-Control-Allow-Private-Network: true`), origin rules, credentials, and headers on plain responses.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cors, type CorsOptions, type Server } from "../src/index.js";
import { exchange, header, startServer, stopServer, type WireResponse } from "./fixtures/http/harness.js";

describe("CORS and Private Network Access", { timeout: 60_000 }, () => {
  const servers: Server[] = [];
  let handlerCalls = 0;

  async function corsServer(options?: CorsOptions): Promise<Server> {
    const server = await startServer(
      cors((request) => {
        handlerCalls++;
        const path = new URL(request.url).pathname;
        if (path === "/redirect") return Response.redirect("http://h/elsewhere", 302);
        return new Response(`handled ${request.method}`, { headers: { "x-secret": "s" } });
      }, options),
    );
    servers.push(server);
    return server;
  }

  let open: Server;
  before(async () => {
    open = await corsServer();
  });
  after(async () => {
    for (const server of servers) await stopServer(server);
  });

  async function send(server: Server, lines: string[]): Promise<WireResponse> {
    const responses = await exchange(server.port, `${lines.join("\r\n")}\r\n\r\n`);
    assert.equal(responses.length, 1);
    return responses[0]!;
  }

  const preflight = (origin: string, extra: string[] = []) => [
    "OPTIONS /resource HTTP/1.1",
    "Host: 127.0.0.1",
    `Origin: ${origin}`,
    "Access-Control-Request-Method: PUT",
    "Access-Control-Request-Headers: x-custom, content-type",
    ...extra,
  ];

  it("answers a Private Network Access preflight with consent, without calling the handler", async () => {
    const calls = handlerCalls;
    const response = await send(open, preflight("https://public.example", ["Access-Control-Request-Private-Network: true"]));
    assert.equal(response.status, 204);
    assert.equal(header(response, "access-control-allow-origin"), "*");
    assert.equal(header(response, "access-control-allow-private-network"), "true");
    assert.match(header(response, "access-control-allow-methods") ?? "", /\bPUT\b/);
    assert.equal(header(response, "access-control-allow-headers"), "x-custom, content-type");
    assert.equal(header(response, "access-control-max-age"), "600");
    assert.match(header(response, "vary") ?? "", /Access-Control-Request-Method/);
    assert.equal(response.body.length, 0);
    assert.equal(handlerCalls, calls, "the handler never saw the preflight");
  });

  it("gives no private-network consent unless asked, or when turned off", async () => {
    const plain = await send(open, preflight("https://public.example"));
    assert.equal(plain.status, 204);
    assert.equal(header(plain, "access-control-allow-private-network"), undefined);
    const refusing = await corsServer({ privateNetwork: false });
    const response = await send(refusing, preflight("https://public.example", ["Access-Control-Request-Private-Network: true"]));
    assert.equal(response.status, 204);
    assert.equal(header(response, "access-control-allow-private-network"), undefined);
  });

  it("adds the allow-origin header to ordinary responses, even immutable ones", async () => {
    const response = await send(open, ["GET /data HTTP/1.1", "Host: h", "Origin: https://public.example"]);
    assert.equal(response.body.toString(), "handled GET");
    assert.equal(header(response, "access-control-allow-origin"), "*");
    const redirect = await send(open, ["GET /redirect HTTP/1.1", "Host: h", "Origin: https://public.example"]);
    assert.equal(redirect.status, 302);
    assert.equal(header(redirect, "location"), "http://h/elsewhere");
    assert.equal(header(redirect, "access-control-allow-origin"), "*");
  });

  it("passes an OPTIONS request that is not a preflight to the handler", async () => {
    const response = await send(open, ["OPTIONS /resource HTTP/1.1", "Host: h", "Origin: https://public.example"]);
    assert.equal(response.body.toString(), "handled OPTIONS");
  });

  it("allows listed origins only, echoing them with Vary: Origin", async () => {
    const server = await corsServer({ origin: ["https://a.example", "https://b.example"], exposeHeaders: ["x-secret"] });
    const allowed = await send(server, preflight("https://b.example"));
    assert.equal(allowed.status, 204);
    assert.equal(header(allowed, "access-control-allow-origin"), "https://b.example");
    assert.match(header(allowed, "vary") ?? "", /\bOrigin\b/);
    const denied = await send(server, preflight("https://evil.example", ["Access-Control-Request-Private-Network: true"]));
    assert.equal(denied.status, 403);
    assert.equal(header(denied, "access-control-allow-origin"), undefined);
    assert.equal(header(denied, "access-control-allow-private-network"), undefined);
    const plain = await send(server, ["GET / HTTP/1.1", "Host: h", "Origin: https://a.example"]);
    assert.equal(header(plain, "access-control-allow-origin"), "https://a.example");
    assert.equal(header(plain, "access-control-expose-headers"), "x-secret");
    const foreign = await send(server, ["GET / HTTP/1.1", "Host: h", "Origin: https://evil.example"]);
    assert.equal(foreign.body.toString(), "handled GET", "a simple request still reaches the handler");
    assert.equal(header(foreign, "access-control-allow-origin"), undefined, "but the browser gets no permission to read it");
  });

  it("echoes the origin instead of * with credentials, and decides by predicate", async () => {
    const server = await corsServer({ credentials: true, origin: (origin) => origin.endsWith(".trusted.example") });
    const response = await send(server, preflight("https://app.trusted.example"));
    assert.equal(header(response, "access-control-allow-origin"), "https://app.trusted.example");
    assert.equal(header(response, "access-control-allow-credentials"), "true");
    assert.equal((await send(server, preflight("https://untrusted.example"))).status, 403);
    const anyOrigin = await corsServer({ credentials: true });
    assert.equal(header(await send(anyOrigin, preflight("https://x.example")), "access-control-allow-origin"), "https://x.example");
  });

  it("lets fetch() read a cross-origin style response end to end", async () => {
    const response = await fetch(`${open.url}data`, { headers: { origin: "https://public.example" } });
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.equal(await response.text(), "handled GET");
  });
});
