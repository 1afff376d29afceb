/**
 * The Isolated Web App's entry: serves the demo app on the window's native TCPServerSocket and drives the
 * control panel. The port comes from `?port=` (the launcher's `--port`), else the one last chosen in the
 * panel, else 44818.
 */
import { serve, type Server } from "../src/index.js";
import { createDemoApp } from "./demo.js";
import { instrument } from "./instrument.js";
import { Panel, type ServerState } from "./panel.js";
import { ServerStats } from "./stats.js";

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

function initialAddress(): { host: string; port: number } {
  const params = new URLSearchParams(location.search);
  const stored = JSON.parse(localStorage.getItem(storedAddressKey) ?? "{}") as { host?: string; port?: number };
  const port = Number(params.get("port") ?? stored.port ?? defaultPort);
  return { host: params.get("host") ?? stored.host ?? defaultHost, port: Number.isInteger(port) ? port : defaultPort };
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

const stats = new ServerStats();
const app = instrument(createDemoApp(), stats);
let server: Server | undefined;
let status: Status = { state: "stopped", stats: stats.snapshot() };
const settledWaiters: Array<(status: Status) => void> = [];

/** The last address start() tried, and whether to remember it: what retry() tries again. */
let lastAttempt = { host: defaultHost, port: defaultPort, remember: false };

function setStatus(state: ServerState, details: { url?: string; error?: string } = {}): void {
  status = { state, ...details, address: { host: lastAttempt.host, port: lastAttempt.port }, stats: stats.snapshot() };
  panel.setState(state, details.url);
  if (state === "listening" || state === "failed" || state === "stopped") {
    for (const resolve of settledWaiters.splice(0)) resolve(status);
  }
}

async function start(host: string, port: number, remember: boolean): Promise<void> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    stats.addError(`port must be a whole number from 1 to 65535, not ${port}`);
    return;
  }
  lastAttempt = { host, port, remember };
  setStatus("starting");
  let candidate: Server;
  try {
    candidate = serve({ hostname: host, port, fetch: app.fetch, websocket: app.websocket, onError: app.onError });
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

const panel = new Panel(stats, {
  start: (host, port) => void start(host, port, true),
  stop: () => void stop(),
});

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

/** For the launcher and tests, which read the app's state over DevTools. */
const automation = {
  status: (): Status => ({ ...status, stats: stats.snapshot() }),
  /** The request log, oldest first (the panel shows the same, redrawn a little later). */
  requests: () => stats.log.map(({ method, target, status }) => ({ method, target, status })),
  /** Resolves once the server is listening, has failed to, or is stopped. */
  settled: (): Promise<Status> =>
    status.state === "starting" || status.state === "stopping"
      ? new Promise<Status>((resolve) => settledWaiters.push(resolve))
      : Promise.resolve(automation.status()),
  /** Starts again on the address that failed; resolves with the outcome. */
  retry: (): Promise<Status> => {
    if (status.state === "failed") void start(lastAttempt.host, lastAttempt.port, lastAttempt.remember);
    return automation.settled();
  },
};
(globalThis as { browserHttpd?: typeof automation }).browserHttpd = automation;

const { host, port } = initialAddress();
panel.setAddress(host, port);
void start(host, port, false);
