// Serves a folder: examples/static-site by default, or the folder given as the first argument. Runs unchanged on
// Node, Deno and Bun (after `npm run build`: node dist/examples/static.js [DIR], deno run -A dist/examples/static.js
// [DIR], bun dist/examples/static.js [DIR]). PORT=0 picks a free port; default 8080.
import { fileURLToPath } from "node:url";
import { serve, serveStatic } from "../src/index.js";

const argument = globalThis.process?.argv[2];
// From dist/examples/static.js the site is two folders up, in the sources; from examples/static.ts it is beside.
const site = new URL(import.meta.url.includes("/dist/examples/") ? "../../examples/static-site/" : "./static-site/", import.meta.url);
const root = argument ?? fileURLToPath(site);

const server = serve({
  port: Number(globalThis.process?.env.PORT || 8080),
  fetch: serveStatic(root, {
    listing: true, // a folder without an index.html gets a listing
    cacheControl: "public, max-age=60",
    // What is not a file (a missing path, a POST) goes to the app: put your routes here.
    onNoMatch(request) {
      if (new URL(request.url).pathname === "/api/time") return Response.json({ now: new Date().toISOString() });
      return new Response("Not Found\n", { status: 404 });
    },
  }),
  onListen: ({ url }) => console.log(`listening on ${url} serving ${root}`),
});
await server.ready();
