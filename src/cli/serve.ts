import { loadAppModule, displayName, staticFolder } from "../node/app-module.js";
import { type AppModule, appModuleOf } from "../server/app-module.js";
import { serve } from "../server/serve.js";
import { serveStatic } from "../static/index.js";
import { flag, parseArgs, portFlag } from "./args.js";
import { configFor } from "./config.js";
import { readTlsFiles } from "../node/tls-files.js";

const flags = ["host", "port", "static", "tls-cert", "tls-key"];

/** What to serve and how to name it: an app module, a folder, or the demo app. */
async function appToServe(file: string | undefined, folder: string | undefined): Promise<{ app: AppModule; name: string }> {
  if (file !== undefined) return { app: await loadAppModule(file), name: displayName(file) };
  if (folder !== undefined) {
    // Someone serving a whole folder wants to see what is in it where there is no index.html.
    return { app: { fetch: serveStatic(await staticFolder(folder), { listing: true }) }, name: `${displayName(folder)} (static files)` };
  }
  // The demo is the app module the IWA serves by default (app/served-app.ts), found beside this build at run time:
  // the CLI does not import the app's floor. It is imported as built rather than bundled like a user's module, so
  // that it shares this process's copy of the server (its WebSocket upgrades are this server's).
  const demo = new URL("../../app/served-app.js", import.meta.url);
  return { app: appModuleOf((await import(demo.href)) as Record<string, unknown>, "app/served-app.js"), name: "browser-httpd demo app" };
}

/**
 * `browser-httpd serve [FILE | --static DIR] [--host H] [--port N] [--tls-cert FILE --tls-key FILE]`: an app
 * module, a folder, or without either the demo app, on this runtime until Ctrl-C; HTTPS with the TLS flags.
 * --host and --port win over the module's hostname and port.
 */
export default async function serveCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const unknown = [...args.flags.keys()].filter((name) => !flags.includes(name));
  if (unknown.length > 0)
    throw new Error(`serve: unknown option --${unknown[0]} (options: --host, --port, --static, --tls-cert, --tls-key)`);
  const [file, ...extra] = args.positionals;
  const folder = flag(args, "static");
  if (extra.length > 0 || (file !== undefined && folder !== undefined)) {
    throw new Error("serve takes one app module (serve ./app.ts) or one folder (serve --static DIR), not more");
  }
  // The project config (browser-httpd.config.*, package.json's field): flags win over it, it wins over the module.
  const config = await configFor(file);
  const served = await appToServe(file, file === undefined ? (folder ?? config.static) : undefined);
  const { app } = served;
  const name = config.name ?? served.name;
  const hostname = flag(args, "host") ?? app.hostname ?? "127.0.0.1";
  const port = portFlag(args, "port", config.port ?? app.port ?? 8080);
  const tls = await readTlsFiles(flag(args, "tls-cert"), flag(args, "tls-key"));
  const shutdown = new AbortController();
  const server = serve({ ...app, hostname, port, tls, signal: shutdown.signal });
  try {
    await server.ready();
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? `port ${port} is in use (pick another with --port)` : (error as Error).message;
    process.stderr.write(`browser-httpd: cannot listen on ${hostname}:${port}: ${reason}\n`);
    return 1;
  }
  process.stdout.write(`${name} listening on ${server.url}\n`);
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
