/**
 * Runs the app in Chromium: starts the browser, installs the IWA (dev-mode proxy serving the signed bundle's
 * responses, or Chromium's own signed-bundle install), launches its window and waits until its server answers.
 * Every failure tears down what was started, and `close()` does the same on the way out.
 */
import { pemBlocks } from "../src/tls/pem.js";
import { spkiSha256Base64 } from "../src/tls/x509.js";
import { createConnection } from "node:net";
import { type RunningChromium, launchChromium } from "./chromium.js";
import { type DevProxy, type StoredResponse, startDevProxy } from "./dev-proxy.js";
import {
  type InstalledApp,
  IwaDevPage,
  IwaInstallError,
  evaluate,
  installFromDevProxyWithPwaInstall,
  launchApp,
  proxyOriginOf,
} from "./iwa.js";
import { type Phase, PhaseClock } from "./phases.js";

export type InstallRequest =
  | { mode: "dev-proxy"; responses: ReadonlyMap<string, StoredResponse> }
  | { mode: "signed"; bundlePath: string; webBundleId: string };

export interface StartIwaOptions {
  executable: string;
  headless: boolean;
  profileDir?: string;
  install: InstallRequest;
  /** The app's listening port; without it the app uses the one last chosen in its panel, or 44818. */
  port?: number;
  log?: (line: string) => void;
  /** Chromium's stderr and the app's console, for diagnosing. */
  verbose?: boolean;
  /** HTTPS: the certificate chain and key (PEM, with their file names for errors), handed to the page over DevTools. */
  tls?: AppTls;
}

export interface AppTls {
  cert: string;
  key: string;
  certName: string;
  keyName: string;
}

export interface AppStatus {
  state: "starting" | "listening" | "stopping" | "stopped" | "failed";
  url?: string;
  error?: string;
  /** The address the app's server listens on, or last tried to. */
  address?: { host: string; port: number };
  stats: Record<string, number>;
}

/** How long a port that nothing listens on, yet Chromium cannot take, is tried again: TCP's TIME_WAIT is 60 s. */
const PORT_RETRY_MS = 65_000;
const PORT_RETRY_INTERVAL_MS = 2_000;

export interface RunningIwa {
  /** Where the app's server listens, e.g. http://127.0.0.1:44818/. */
  url: string;
  port: number;
  installMode: "dev-proxy" | "signed";
  /** True when a kept profile already had the app installed from the dev-mode proxy, and that install ran. */
  reusedInstall: boolean;
  app: InstalledApp;
  /** isolated-app://<id> of the installed app (random per install in dev-proxy mode). */
  appOrigin: string;
  chromium: RunningChromium;
  proxy?: DevProxy;
  /** The app window's page and its DevTools session (a supervisor that opens a new window updates both). */
  appTargetId: string;
  appSessionId: string;
  /** Evaluates in the app's window. */
  evaluateInApp<T>(expression: string): Promise<T>;
  /** HTTPS credentials the page gets again whenever it is reloaded or relaunched. */
  tls: AppTls | undefined;
  /** How long each phase took: Chromium start, install, launch, first answer. */
  phases: Phase[];
  /** Whether Chromium's stderr and the app's console are logged. */
  verbose: boolean;
  close(): Promise<void>;
}

export class AppStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AppStartError";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function leafSpkiHash(tls: AppTls): Promise<string> {
  const leaf = pemBlocks(tls.cert).find((block) => block.label === "CERTIFICATE")?.der;
  if (!leaf) throw new AppStartError(`${tls.certName}: no CERTIFICATE block`);
  return spkiSha256Base64(leaf);
}

/** The app page's URL path: the port, and whether it waits for TLS credentials. */
export function appLaunchPath(port: number | undefined, tls: AppTls | undefined): string {
  const query = new URLSearchParams();
  if (port !== undefined) query.set("port", String(port));
  if (tls) query.set("tls", "1");
  const search = query.toString();
  return search ? `/?${search}` : "/";
}

/** What, evaluated in the page, starts its server if it waits for something (TLS credentials) and awaits the outcome. */
export function appStartExpression(tls: AppTls | undefined): string {
  return tls ? `browserHttpd.configureTls(${JSON.stringify(tls)})` : "browserHttpd.settled()";
}

async function waitForAppServer(
  evaluateInApp: <T>(expression: string) => Promise<T>,
  timeoutMs: number,
  startExpression: string,
): Promise<AppStatus> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // The app's module defines browserHttpd once it ran; until then the page may still be loading.
    const status = await evaluateInApp<AppStatus | null>(`typeof browserHttpd === 'object' ? ${startExpression} : null`).catch(() => null);
    if (status) return status;
    await sleep(25);
  }
  throw new AppStartError(`the app window did not start its server within ${timeoutMs / 1000} s`);
}

/**
 * Waits until the app's page (still loading, or loaded) has its server listening and answering, and returns
 * its status. A port that nothing listens on, yet Chromium cannot take, is tried again for up to 65 s.
 */
export async function waitUntilServing(
  evaluateInApp: <T>(expression: string) => Promise<T>,
  log: (line: string) => void,
  timeoutMs = 30_000,
  startExpression = appStartExpression(undefined),
): Promise<AppStatus & { url: string }> {
  let status = await waitForAppServer(evaluateInApp, timeoutMs, startExpression);
  // A port nothing listens on can still be taken for a minute: by a connection that just closed on it (TIME_WAIT),
  // or an outgoing one that drew it from the ephemeral range. Chromium's listen refuses it; Node's would not.
  const retryUntil = Date.now() + PORT_RETRY_MS;
  let announced = false;
  while (
    status.state === "failed" &&
    status.address &&
    status.address.port >= 1024 &&
    Date.now() < retryUntil &&
    !(await portAnswers(status.address.port, 500))
  ) {
    if (!announced) {
      announced = true;
      log(
        `Port ${status.address.port} is not free yet, although nothing listens there (a connection that just closed on it?); trying again for up to ${PORT_RETRY_MS / 1000} s.`,
      );
    }
    await sleep(PORT_RETRY_INTERVAL_MS);
    status = await evaluateInApp<AppStatus>("browserHttpd.retry()");
  }
  if (status.state !== "listening" || !status.url) {
    throw new AppStartError(`the app window opened, but its server did not start: ${status.error ?? status.state}`);
  }
  const port = Number(new URL(status.url).port);
  if (!(await portAnswers(port, 5000))) {
    throw new AppStartError(`the app says it listens on ${status.url}, but nothing answers on 127.0.0.1:${port}`);
  }
  return status as AppStatus & { url: string };
}

function manifestOf(responses: ReadonlyMap<string, StoredResponse>): { name?: string; version?: string } {
  const manifest = responses.get("/.well-known/manifest.webmanifest");
  if (!manifest) return {};
  try {
    const { name, version } = JSON.parse(new TextDecoder().decode(manifest.body)) as { name?: unknown; version?: unknown };
    return { name: typeof name === "string" ? name : undefined, version: typeof version === "string" ? version : undefined };
  } catch {
    return {};
  }
}

/**
 * Installs the app from a dev-mode proxy into a fresh profile, which has nothing installed to look for:
 * with PWA.install when this Chromium has it, else through the chrome://iwa-dev page.
 */
async function installFreshThroughDevProxy(
  chromium: RunningChromium,
  responses: ReadonlyMap<string, StoredResponse>,
  log: (line: string) => void,
): Promise<{ app: InstalledApp; proxy: DevProxy }> {
  const proxy = await startDevProxy(responses);
  try {
    let app = await installFromDevProxyWithPwaInstall(chromium.cdp, proxy.url, manifestOf(responses));
    if (!app) {
      const iwaDev = await IwaDevPage.open(chromium.cdp, chromium.product);
      try {
        app = await iwaDev.installFromDevProxy(proxy.url);
      } finally {
        await iwaDev.close();
      }
    }
    log(`Installed ${app.name} ${app.installedVersion} from the dev-mode proxy at ${proxy.url}.`);
    return { app, proxy };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}

/**
 * Installs the app from a dev-mode proxy. A kept profile may hold an earlier install of the same app: Chromium
 * loads its files from the proxy origin it was installed from, so the proxy takes that origin's port again and
 * the app keeps its origin (and with it its storage, such as the port chosen in its panel). When that port is
 * taken, the old install is removed and a new one made.
 */
async function installThroughDevProxy(
  iwaDev: IwaDevPage,
  responses: ReadonlyMap<string, StoredResponse>,
  log: (line: string) => void,
): Promise<{ app: InstalledApp; proxy: DevProxy; reusedInstall: boolean }> {
  const { name } = manifestOf(responses);
  const earlier = (await iwaDev.installedApps()).find((app) => app.name === name && proxyOriginOf(app));
  if (earlier) {
    const port = Number(new URL(proxyOriginOf(earlier)!).port);
    const proxy = await startDevProxy(responses, port).catch(() => undefined);
    if (proxy) {
      await iwaDev.refreshDevProxyApp(earlier);
      log(`Reusing ${earlier.name}, installed in this profile from the dev-mode proxy at ${proxy.url}.`);
      return { app: earlier, proxy, reusedInstall: true };
    }
    await iwaDev.uninstall(earlier);
    log(`Removed the earlier install of ${earlier.name}: its dev-mode proxy port ${port} is taken.`);
  }
  const proxy = await startDevProxy(responses);
  try {
    const app = await iwaDev.installFromDevProxy(proxy.url);
    log(`Installed ${app.name} ${app.installedVersion} from the dev-mode proxy at ${proxy.url}.`);
    return { app, proxy, reusedInstall: false };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}

export async function startIwa(options: StartIwaOptions): Promise<RunningIwa> {
  const log = options.log ?? (() => undefined);
  const clock = new PhaseClock();
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const extraArgs = options.install.mode === "signed" ? [`--install-isolated-web-app-from-file=${options.install.bundlePath}`] : [];
    // This browser trusts the key it serves with, so its own pages (and tests) can use https:// and wss:// here.
    if (options.tls) extraArgs.push(`--ignore-certificate-errors-spki-list=${await leafSpkiHash(options.tls)}`);
    const chromium = await launchChromium({
      executable: options.executable,
      headless: options.headless,
      profileDir: options.profileDir,
      extraArgs,
      onStderr: options.verbose ? (line) => log(`[chromium] ${line}`) : undefined,
    });
    cleanups.push(() => chromium.close());
    log(`Started ${chromium.product}.`);
    clock.mark("Chromium start");

    let app: InstalledApp;
    let proxy: DevProxy | undefined;
    let reusedInstall = false;
    if (options.install.mode === "dev-proxy" && options.profileDir === undefined) {
      ({ app, proxy } = await installFreshThroughDevProxy(chromium, options.install.responses, log));
      cleanups.push(() => proxy!.close());
    } else if (options.install.mode === "dev-proxy") {
      const iwaDev = await IwaDevPage.open(chromium.cdp, chromium.product);
      ({ app, proxy, reusedInstall } = await installThroughDevProxy(iwaDev, options.install.responses, log));
      cleanups.push(() => proxy!.close());
      await iwaDev.close();
    } else {
      const iwaDev = await IwaDevPage.open(chromium.cdp, chromium.product);
      const { bundlePath, webBundleId } = options.install;
      const installed = await iwaDev.waitForApp(webBundleId, 20_000);
      if (!installed) {
        throw new IwaInstallError(
          `${chromium.product} did not install ${bundlePath} from --install-isolated-web-app-from-file ` +
            "(it gives no reason). Chromium builds without Google's IWA key data, such as Debian's, refuse signed " +
            "bundles this way; Google Chrome with chrome://flags/#enable-isolated-web-app-dev-mode accepts them. " +
            "Run without --install signed to use the dev-mode proxy, which serves this same signed bundle.",
        );
      }
      app = installed;
      log(`Installed ${app.name} ${app.installedVersion} from the signed bundle.`);
      await iwaDev.close();
    }
    clock.mark("install", options.install.mode === "dev-proxy" && reusedInstall ? "kept" : undefined);

    const launchPath = appLaunchPath(options.port, options.tls);
    const launched = await launchApp(chromium.cdp, app, launchPath);
    if (options.verbose) {
      await chromium.cdp.send("Runtime.enable", {}, launched.sessionId);
      chromium.cdp.on("Runtime.consoleAPICalled", (params, sessionId) => {
        if (sessionId !== launched.sessionId) return;
        const args = (params.args as Array<{ value?: unknown; description?: string }>) ?? [];
        log(`[app ${String(params.type)}] ${args.map((arg) => arg.description ?? String(arg.value)).join(" ")}`);
      });
    }
    clock.mark("launch");
    const evaluateInApp = <T>(expression: string) => evaluate<T>(chromium.cdp, launched.sessionId, expression);
    const status = await waitUntilServing(evaluateInApp, log, undefined, appStartExpression(options.tls));
    const url = status.url!;
    const port = Number(new URL(url).port);
    clock.mark("first answer");
    return {
      url,
      port,
      installMode: options.install.mode,
      reusedInstall,
      app,
      appOrigin: launched.origin,
      chromium,
      proxy,
      appTargetId: launched.targetId,
      appSessionId: launched.sessionId,
      evaluateInApp,
      tls: options.tls,
      phases: clock.phases,
      verbose: options.verbose ?? false,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
