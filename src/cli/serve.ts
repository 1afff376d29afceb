import { createDemoApp } from "../../app/demo.js";
import { serve } from "../http/serve.js";
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
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stdout.write("shutting down…\n");
      shutdown.abort();
    });
  }
  await server.finished;
  return 0;
}
