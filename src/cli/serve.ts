import { createDemoApp } from "../../app/demo.js";
import { serve } from "../server/serve.js";
import { flag, parseArgs, portFlag } from "./args.js";

/** `browser-httpd serve [--host 127.0.0.1] [--port 8080]`: the demo app on this runtime until Ctrl-C. */
export default async function serveCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const hostname = flag(args, "host", "127.0.0.1")!;
  const port = portFlag(args, "port", 8080);
  const shutdown = new AbortController();
  const server = serve({ ...createDemoApp(), hostname, port, signal: shutdown.signal });
  try {
    await server.ready();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? `port ${port} is in use (pick another with --port)` : (error as Error).message;
    process.stderr.write(`browser-httpd: cannot listen on ${hostname}:${port}: ${reason}\n`);
    return 1;
  }
  process.stdout.write(`browser-httpd demo app listening on ${server.url}\n`);
  let signals = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (++signals === 1) {
        process.stdout.write("shutting down: finishing requests in flight (Ctrl-C again to drop them)…\n");
        shutdown.abort();
      } else void server.close(true);
    });
  }
  await server.finished;
  return 0;
}
