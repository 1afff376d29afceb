/**
 * `browser-httpd start`: builds, signs, installs and launches the Isolated Web App in Chromium, prints where it
 * serves, and on Ctrl-C or SIGTERM closes Chromium, the proxy and the temporary profile. Killed outright, it
 * takes Chromium down with it (the DevTools pipe closes) and the next start removes the profile it left.
 * While it runs, a crashed app page is loaded again (launcher/supervise.ts), up to 5 crashes a minute.
 */
import { parseArgs } from "node:util";
import { defaultAppPort, type InstallMode, launch, type LaunchedApp, type LaunchOptions, portZeroRule } from "../../launcher/launch.js";
import { formatPhases, formatSeconds, type Phase } from "../../launcher/phases.js";
import { type ServedApp, servedName } from "../../launcher/served-app.js";
import { supervise } from "../../launcher/supervise.js";
import { ConfigError, configFor } from "./config.js";
import { readTlsFiles } from "../node/tls-files.js";

const usage = `usage: browser-httpd start [FILE | --static DIR] [options]

Builds and signs the app, starts Chromium, installs and launches the Isolated Web App; its window serves
HTTP and WebSocket (HTTPS and WSS with --tls-cert/--tls-key) on 127.0.0.1:${defaultAppPort} until Ctrl-C. A page that crashes is loaded again;
after 5 crashes within a minute start gives up and exits.

What it serves: the app module FILE (its default export { fetch, websocket?, port?, ... }, bundled with
what it imports), the files of the folder DIR (--static), or without either the demo app.

options:
  --static DIR         serve the files of DIR (put into the signed bundle), with listings where no index.html
  --port N             the app's port (default: the config's port, else the module's, else the one last
                       chosen in its window, else ${defaultAppPort}); a fixed one: Chromium cannot pick one (0)
  --chrome PATH        the browser to run (default: $CHROME_PATH, then chromium, chromium-browser,
                       google-chrome, chrome on PATH; installed with apt-get when none and allowed)
  --headful            show the browser window (default: headless)
  --profile DIR        keep the browser profile in DIR (default: a temporary one, removed at exit, or
                       by the next start when this one is killed)
  --install MODE       dev-proxy (default): Chromium installs from a local proxy serving the signed bundle;
                       signed: Chromium installs the .swbn itself (Chrome builds that accept it)
  --key FILE           signing key (default: the config's signingKey, else .keys/iwa-signing-key.pem,
                       generated on first run)
  --bundle FILE        where to write the signed bundle (default: dist/browser-httpd.swbn)
  --tls-cert FILE      serve HTTPS and WSS (TLS 1.3) with this PEM certificate chain; with --tls-key
  --tls-key FILE       its PEM private key; both go to the app window in memory, never into the bundle
                       (make a pair with: browser-httpd cert --out DIR)
  --verbose            show Chromium's stderr and the app's console
  -h, --help           this help

A project config (browser-httpd.config.json, .mjs or .js, or a "browser-httpd" field in package.json), in the
module's folder or the working folder, may give name, port, icon (a PNG), signingKey, include (files or globs put
into the bundle below site/) and static (a folder); the options above win over it.
`;

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (/^0+$/.test(text)) throw new Error(`--port 0: ${portZeroRule}`);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`--port must be from 1 to 65535, not "${text}"`);
  return port;
}

function parseInstallMode(text: string | undefined): InstallMode {
  if (text === undefined || text === "dev-proxy" || text === "signed") return text ?? "dev-proxy";
  throw new Error(`--install must be dev-proxy or signed, not "${text}"`);
}

/** The phases of this start, with the TypeScript build `npm start` ran before (BROWSER_HTTPD_BUILD_MS, _NOTE), and the total. */
function phaseSummary(app: LaunchedApp): string {
  const phases: Phase[] = [];
  const buildMs = Number(process.env.BROWSER_HTTPD_BUILD_MS);
  if (process.env.BROWSER_HTTPD_BUILD_MS && Number.isFinite(buildMs)) {
    phases.push({
      name: "tsc",
      ms: buildMs,
      ...(process.env.BROWSER_HTTPD_BUILD_NOTE ? { note: process.env.BROWSER_HTTPD_BUILD_NOTE } : {}),
    });
  }
  phases.push(...app.phases);
  return `${formatPhases(phases)}; ${formatSeconds(process.uptime() * 1000)} since the command started`;
}

function summary(app: LaunchedApp, served: ServedApp | undefined): string {
  const installedVia =
    app.installMode === "dev-proxy"
      ? `dev-mode proxy ${app.proxy!.url}, serving the signed bundle's own responses` +
        (app.reusedInstall ? " (the install kept in the profile)" : "")
      : "Chromium's signed-bundle install (--install-isolated-web-app-from-file)";
  const rows: Array<[string, string]> = [
    ["URL", app.url],
    ["serving", served ? servedName(served) : "the demo app"],
    ["installed via", installedVia],
    ["Web Bundle ID", app.signedWebBundleId],
    ["app origin", app.installMode === "dev-proxy" ? `${app.appOrigin}/ (dev-mode installs get a random ID)` : `${app.appOrigin}/`],
    ["bundle", `${app.bundlePath} (${app.bundleBytes} bytes, key ${app.keyPath})`],
    ["Chromium", `${app.chromium.product} at ${app.chromiumPath}, ${app.headless ? "headless" : "with a window"}`],
    ["profile", app.profileDir ?? `${app.chromium.profileDir} (temporary, removed at exit)`],
    ["took", phaseSummary(app)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`);
  return (
    `\nbrowser-httpd is serving inside Chromium at ${app.url}\n\n${lines.join("\n")}\n\n` +
    `  try   curl ${new URL(served ? "" : "hello", app.url).href}\n  stop  Ctrl-C\n\n`
  );
}

/**
 * What `start` is to launch, from its arguments and the project config (flags win over the config): every check
 * that needs no browser is made here. Undefined for --help.
 */
export async function startOptions(argv: string[]): Promise<LaunchOptions | undefined> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      static: { type: "string" },
      port: { type: "string" },
      chrome: { type: "string" },
      headful: { type: "boolean" },
      profile: { type: "string" },
      install: { type: "string" },
      key: { type: "string" },
      bundle: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      verbose: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return undefined;
  if (positionals.length > 1 || (positionals.length === 1 && values.static !== undefined)) {
    throw new Error("start takes one app module (start ./app.ts) or one folder (start --static DIR), not more");
  }
  const module = positionals[0];
  const config = await configFor(module);
  const folder = module === undefined ? (values.static ?? config.static) : undefined;
  const served: ServedApp | undefined = module !== undefined ? { module } : folder !== undefined ? { folder } : undefined;
  const port = parsePort(values.port);
  if (port === undefined && config.port === 0) throw new ConfigError(config.file!, `port 0: ${portZeroRule}`);
  if (config.include && served && "folder" in served) {
    throw new ConfigError(
      config.file!,
      "include puts files into the bundle beside an app module or the demo; a static folder's files are all in it already",
    );
  }
  return {
    chromePath: values.chrome,
    headless: !values.headful,
    profileDir: values.profile,
    port: port ?? config.port,
    install: parseInstallMode(values.install),
    keyPath: values.key ?? config.signingKey,
    bundlePath: values.bundle,
    served,
    name: config.name,
    icon: config.icon,
    include: config.include,
    tls: await readTlsFiles(values["tls-cert"], values["tls-key"]),
    verbose: values.verbose,
  };
}

export default async function start(argv: string[]): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let options: LaunchOptions | undefined;
  try {
    options = await startOptions(argv);
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) throw error;
    log(`browser-httpd start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  if (options === undefined) {
    process.stdout.write(usage);
    return 0;
  }
  const { served } = options;

  // Signals that arrive while starting cancel the start; after it, they stop the app.
  let stopRequested: NodeJS.Signals | undefined;
  let wakeOnStop: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) {
      log(`${signal} again: exiting now; Chromium goes down with its DevTools pipe.`);
      process.exit(130);
    }
    stopRequested = signal;
    wakeOnStop?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);

  let app: LaunchedApp | undefined;
  try {
    app = await launch({ ...options, log });
    if (!stopRequested) {
      process.stdout.write(summary(app, served));
      // Crashed pages are loaded again; supervision ends when the window closes, Chromium exits, or it gives up.
      const supervision = supervise(app, { log });
      const reason = await new Promise<string>((resolve) => {
        wakeOnStop = () => resolve(`${stopRequested}: stopping`);
        void supervision.ended.then(({ message }) => resolve(message));
      });
      supervision.stop();
      log(`${reason}; closing Chromium${app.profileDir ? "" : " and removing the temporary profile"}.`);
      const unexpected = !stopRequested;
      await app.close();
      return unexpected ? 1 : 0;
    }
    log(`${stopRequested}: stopping before the app was announced.`);
    await app.close();
    return 0;
  } catch (error) {
    await app?.close();
    log(`browser-httpd start: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
  }
}
