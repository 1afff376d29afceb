// Runs unchanged on Node, Deno and Bun (after `npm run build`: node dist/examples/hello.js,
// deno run -A dist/examples/hello.js, bun dist/examples/hello.js). PORT=0 picks a free port; default 8080.
import { serve } from "../src/index.js";

const server = serve({
  port: Number(globalThis.process?.env.PORT || 8080),
  fetch(request, info) {
    const { pathname } = new URL(request.url);
    if (pathname === "/") return new Response(`Hello, ${info.remoteAddress}!\n`);
    return new Response("Not Found\n", { status: 404 });
  },
  onListen: ({ url }) => console.log(`listening on ${url}`),
});
await server.ready();
