// A server-sent events stream and a streaming upload counter: bodies flow both ways with backpressure.
// Run: node dist/examples/streaming.js (or deno run -A / bun on the same file); PORT=0 picks a free port, default 8080.
// Try: curl -N http://127.0.0.1:8080/events, and curl -T big.file http://127.0.0.1:8080/count
import { cors, serve } from "../src/index.js";

const encoder = new TextEncoder();

serve({
  port: Number(globalThis.process?.env.PORT || 8080),
  fetch: cors(async (request) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/events") {
      let tick = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          controller.enqueue(encoder.encode(`data: tick ${++tick}\n\n`));
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    if (pathname === "/count" && request.body) {
      let bytes = 0;
      for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
      return Response.json({ bytes });
    }
    return new Response("Not Found\n", { status: 404 });
  }),
  onListen: ({ url }) => console.log(`try: curl -N ${url}events`),
});
