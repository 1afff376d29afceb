/**
 * The Isolated Web App's entry: serves the app (served-app.ts: the demo, or what `browser-httpd start` put in its
 * place) on the window's native TCPServerSocket and drives the control panel. The port comes from `?port=` (the
 * launcher's `--port`), else the app module's `port`, else the one last chosen in the panel, else 44818.
 */
import { directoryHandleSource, type FetchHandler, serve, type Server, serveStatic } from "../src/index.js";
import { type AppModule, AppModuleError, appModuleOf } from "../src/server/app-module.js";
import { instrument } from "./instrument.js";
import { Panel, type ServerState } from "./panel.js";
import { forgetFolder, mayRead, type PickedFolder, pickFolder, rememberedFolder } from "./picked-folder.js";
import { source, tryPath } from "./served-name.js";
import { ServerStats } from "./stats.js";
import { targetOf } from "../src/shared/url-target.js";

const defaultPort = 44818;
const defaultHost = "127.0.0.1";
const storedAddressKey = "browser-httpd.address";
const serverStatsPollMs = 500;

interface Status {
  state: ServerState;
  url?: string;
  error?: string;
  /** The address the server listens on, or last tried to. */
  address?: { host: string; port: number };
  stats: Record<string, number>;
}

function initialAddress(module: AppModule | undefined): { host: string; port: number } {
  const params = new URLSearchParams(location.search);
  const stored = JSON.parse(localStorage.getItem(storedAddressKey) ?? "{}") as { host?: string; port?: number };
  const port = Number(params.get("port") ?? module?.port ?? stored.port ?? defaultPort);
  return { host: params.get("host") ?? module?.hostname ?? stored.host ?? defaultHost, port: Number.isInteger(port) ? port : defaultPort };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

/** The served module, loaded and checked (the launcher checked it on Node too, when it loads there), or why it cannot run. */
async function loadServed(): Promise<{ module: AppModule; error?: undefined } | { module?: undefined; error: string }> {
  try {
    // Imported here, not at the top: a module that throws while loading is reported instead of stopping this page.
    return { module: appModuleOf(await import("./served-app.js"), source) };
  } catch (error) {
    return { error: error instanceof AppModuleError ? error.message : `${source}: threw while loading: ${describe(error)}` };
  }
}

const stats = new ServerStats();
const { module, error: moduleError } = await loadServed();
const app = module && instrument(module, stats);
/** A folder picked in the window, served (instrumented as the app is) instead of the app while it is set. */
let folder: { handle: PickedFolder; fetch: FetchHandler } | undefined;
/** The server's handler: the folder's when one is picked, the app's otherwise; switching needs no restart. */
const servedFetch: FetchHandler = (request, info) => (folder ?? app!).fetch(request, info);
let server: Server | undefined;
let status: Status = { state: "stopped", stats: stats.snapshot() };
const settledWaiters: Array<(status: Status) => void> = [];

/** The last address start() tried, and whether to remember it: what retry() tries again. */
let lastAttempt = { host: defaultHost, port: defaultPort, remember: false };

function setStatus(state: ServerState, details: { url?: string; error?: string } = {}): void {
  // A module that cannot run has no address worth trying again.
  const address = app && { host: lastAttempt.host, port: lastAttempt.port };
  status = { state, ...details, address, stats: stats.snapshot() };
  panel.setState(state, details.url);
  if (state === "listening" || state === "failed" || state === "stopped") {
    for (const resolve of settledWaiters.splice(0)) resolve(status);
  }
}

async function start(host: string, port: number, remember: boolean): Promise<void> {
  if (!app) {
    stats.addError(moduleError!);
    setStatus("failed", { error: moduleError });
    return;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    stats.addError(`port must be a whole number from 1 to 65535, not ${port}`);
    return;
  }
  lastAttempt = { host, port, remember };
  if (tlsRequested && !tls) {
    // Serving plain HTTP where HTTPS was asked for would be a silent downgrade.
    stats.addError("HTTPS was asked for (?tls=1) and the certificate has not arrived from the launcher yet");
    return;
  }
  setStatus("starting");
  let candidate: Server;
  try {
    candidate = serve({ hostname: host, port, ...app, tls, fetch: servedFetch, onListen: module?.onListen });
    await candidate.ready();
  } catch (error) {
    const message =
      `cannot listen on ${host}:${port} (${describe(error)}): is another program using the port? ` +
      "Choose another port here, or with --port when starting.";
    stats.addError(message);
    setStatus("failed", { error: message });
    return;
  }
  server = candidate;
  if (remember) localStorage.setItem(storedAddressKey, JSON.stringify({ host, port }));
  setStatus("listening", { url: server.url });
  void server.finished.then(() => {
    if (server !== candidate) return;
    server = undefined;
    setStatus("stopped");
  });
}

async function stop(): Promise<void> {
  if (!server) return;
  setStatus("stopping");
  try {
    await server.shutdown();
  } catch (error) {
    stats.addError(`stopping failed: ${describe(error)}`);
  }
}

function serveFolder(handle: PickedFolder | undefined): void {
  folder = handle && { handle, fetch: instrument({ fetch: serveStatic(directoryHandleSource(handle), { listing: true }) }, stats).fetch };
  panel.setFolder(handle?.name);
}

/** Runs a folder action from the panel; a refusal (the picker cancelled, permission denied) is logged. */
function folderAction(action: () => Promise<void>): void {
  action().catch((error: unknown) => {
    if ((error as { name?: unknown }).name !== "AbortError") stats.addError(`folder: ${describe(error)}`);
  });
}

const panel = new Panel(stats, {
  start: (host, port) => void start(host, port, true),
  stop: () => void stop(),
  pickFolder: () => folderAction(async () => serveFolder(await pickFolder())),
  resumeFolder: () =>
    folderAction(async () => {
      const handle = await rememberedFolder();
      if (handle && (await mayRead(handle, true))) serveFolder(handle);
    }),
  stopFolder: () =>
    folderAction(async () => {
      serveFolder(undefined);
      await forgetFolder();
    }),
});
panel.setServed(source, tryPath);

// Connection counts live in the server; mirror them into the panel's figures while it runs.
setInterval(() => {
  if (!server) return;
  const { connections, acceptedConnections, refusedRequests } = server.stats;
  if (
    connections === stats.connectionsOpen &&
    acceptedConnections === stats.connectionsTotal &&
    refusedRequests === stats.requestsRefused
  ) {
    return;
  }
  stats.connectionsOpen = connections;
  stats.connectionsTotal = acceptedConnections;
  stats.requestsRefused = refusedRequests;
  stats.changed();
}, serverStatsPollMs);

addEventListener("unhandledrejection", (event) => stats.addError(`unhandled: ${describe(event.reason)}`));
addEventListener("error", (event) => stats.addError(`uncaught: ${event.message}`));

// A folder picked before is served again at once if the browser still lets us read it; otherwise it waits for a
// click. Before the automation object appears: the launcher takes that as the sign that the server is starting.
const remembered = await rememberedFolder().catch(() => undefined);
if (remembered && (await mayRead(remembered, false).catch(() => false))) serveFolder(remembered);
else if (remembered) panel.setFolder(undefined, remembered.name);

/**
 * With `?tls=1` the server waits for its certificate and key: the launcher hands them over DevTools, so that they
 * stay in memory only, never in the signed bundle or the profile.
 */
const tlsRequested = new URLSearchParams(location.search).get("tls") === "1";
let tls: { cert: string; key: string; certName: string; keyName: string } | undefined;

/** For the launcher and tests, which read the app's state over DevTools. */
const automation = {
  status: (): Status => ({ ...status, stats: stats.snapshot() }),
  /** The name of the picked folder being served, if any. */
  folder: (): string | undefined => folder?.handle.name,
  /** The request log, oldest first (the panel shows the same, redrawn a little later). */
  requests: () => stats.log.map(({ method, url, status }) => ({ method, target: targetOf(url), status })),
  /** Resolves once the server is listening, has failed to, or is stopped. */
  settled: (): Promise<Status> =>
    status.state === "starting" || status.state === "stopping"
      ? new Promise<Status>((resolve) => settledWaiters.push(resolve))
      : Promise.resolve(automation.status()),
  /** Gives the server its TLS certificate and key (PEM) and starts it, once; resolves with the outcome. */
  configureTls: (credentials: { cert: string; key: string; certName: string; keyName: string }): Promise<Status> => {
    if (!tls && tlsRequested) {
      tls = credentials;
      void start(lastAttempt.host, lastAttempt.port, false);
    }
    return automation.settled();
  },
  /** Starts again on the address that failed; resolves with the outcome. */
  retry: (): Promise<Status> => {
    if (status.state === "failed") void start(lastAttempt.host, lastAttempt.port, lastAttempt.remember);
    return automation.settled();
  },
};
(globalThis as { browserHttpd?: typeof automation }).browserHttpd = automation;

const { host, port } = initialAddress(module);
panel.setAddress(host, port);
lastAttempt = { host, port, remember: false };
if (!tlsRequested) void start(host, port, false);
else setStatus("starting");
