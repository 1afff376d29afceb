/**
 * Installs and launches an Isolated Web App over DevTools, through Chromium's chrome://iwa-dev page (the only
 * unattended install route in Chromium 156, see ../shared/chromium-iwa.md), or for a dev-mode proxy into a
 * fresh profile, DevTools' own PWA.install; and talks to the launched app.
 */
import { randomBytes } from "node:crypto";
import { base32Encode } from "../src/bundle/web-bundle-id.js";
import type { CdpConnection } from "./cdp.js";

export interface InstalledApp {
  /** Chromium's app id, as chrome://iwa-dev lists it (not known for an install made with PWA.install). */
  appId?: string;
  webBundleId: string;
  name: string;
  installedVersion: string;
}

export class IwaInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IwaInstallError";
  }
}

const iwaDevModule = "chrome://iwa-dev/iwa_dev.mojom-webui.js";
const handlerExpression = `(await import(${JSON.stringify(iwaDevModule)})).browserProxyFactory.getInstance().handler`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface EvaluateResult {
  result?: { value?: unknown };
  exceptionDetails?: { text?: string; exception?: { description?: string } };
}

/** Evaluates `expression` (awaited, returned by value) in an attached page; throws the page's exception. */
export async function evaluate<T>(cdp: CdpConnection, sessionId: string, expression: string): Promise<T> {
  const reply = await cdp.send<EvaluateResult>("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId);
  if (reply.exceptionDetails) {
    const details = reply.exceptionDetails;
    throw new Error(details.exception?.description ?? details.text ?? "evaluation failed");
  }
  return reply.result?.value as T;
}

/** Opens a page target at `url` and attaches to it; returns the flat-session id. */
export async function openPage(cdp: CdpConnection, url: string): Promise<{ targetId: string; sessionId: string }> {
  const { targetId } = await cdp.send<{ targetId: string }>("Target.createTarget", { url });
  const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
  return { targetId, sessionId };
}

/** The chrome://iwa-dev page and its Mojo handler, ready for calls. */
export class IwaDevPage {
  private constructor(
    private readonly cdp: CdpConnection,
    private readonly sessionId: string,
    readonly targetId: string,
  ) {}

  static async open(cdp: CdpConnection, product: string): Promise<IwaDevPage> {
    const { targetId, sessionId } = await openPage(cdp, "chrome://iwa-dev");
    const page = new IwaDevPage(cdp, sessionId, targetId);
    // The page's module graph loads after navigation; poll until the handler module imports.
    for (let attempt = 0; attempt < 150; attempt++) {
      const ready = await evaluate<boolean>(cdp, sessionId, `import(${JSON.stringify(iwaDevModule)}).then(() => true)`).catch(() => false);
      if (ready) return page;
      await sleep(100);
    }
    await page.close();
    throw new IwaInstallError(
      `${product} has no usable chrome://iwa-dev page, so it cannot install Isolated Web Apps unattended. ` +
        "It is too old or built without Isolated Web App support; Chromium 156 (Debian's chromium package) is known to work.",
    );
  }

  private call<T>(body: string): Promise<T> {
    return evaluate<T>(this.cdp, this.sessionId, `(async () => { const handler = ${handlerExpression}; ${body} })()`);
  }

  installedApps(): Promise<InstalledApp[]> {
    return this.call<{ apps: InstalledApp[] }>("return await handler.getInstalledAppsInfo();").then(({ apps }) => apps);
  }

  /** Installs (or, for an origin already installed, updates) the app served by a dev-mode proxy. */
  async installFromDevProxy(proxyUrl: string): Promise<InstalledApp> {
    // The handler rejects with a plain { code, message } object, which DevTools would only describe as "Object".
    const refusal = await this.call<string | null>(
      `try { await handler.installAppFromDevProxy(${JSON.stringify(proxyUrl)}); return null; }
       catch (error) { return String(error?.message ?? error); }`,
    );
    if (refusal !== null) {
      throw new IwaInstallError(
        `Chromium refused to install the app from ${proxyUrl}: ${refusal}\n` + "Fix the app's manifest or files, then run again.",
      );
    }
    const app = (await this.installedApps()).find((candidate) => proxyOriginOf(candidate) === new URL(proxyUrl).origin);
    if (!app) throw new IwaInstallError(`Chromium reported no error, yet lists no app installed from ${proxyUrl}`);
    return app;
  }

  /**
   * Re-reads the manifest of an app installed from a dev-mode proxy (its files are always fetched live from
   * the proxy). Chromium refuses when the version did not change, which is fine here.
   */
  async refreshDevProxyApp(app: InstalledApp): Promise<void> {
    const refusal = await this.call<string | null>(
      `try { await handler.updateDevProxyInstalledApp(${JSON.stringify(app.appId)}); return null; }
       catch (error) { return String(error?.message ?? error); }`,
    );
    if (refusal !== null && !/already on version/i.test(refusal)) {
      throw new IwaInstallError(`Chromium did not update ${app.name} from its dev-mode proxy: ${refusal}`);
    }
  }

  async uninstall(app: InstalledApp): Promise<void> {
    await this.call(`await handler.uninstallApp(${JSON.stringify(app.appId)});`);
  }

  /** Waits for an app with this Web Bundle ID to appear (an install Chromium does by itself, from a flag). */
  async waitForApp(webBundleId: string, timeoutMs: number): Promise<InstalledApp | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const app = (await this.installedApps()).find((candidate) => candidate.webBundleId === webBundleId);
      if (app) return app;
      await sleep(250);
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.cdp.send("Target.closeTarget", { targetId: this.targetId }).catch(() => undefined);
  }
}

/** The Web Bundle ID type of dev-mode proxy installs: 32 random bytes, then this suffix (Scheme.md#suffix). */
const devProxyIdSuffix = [0x00, 0x00, 0x02];

/**
 * Installs the app a dev-mode proxy serves with DevTools' PWA.install, under a new random dev-mode Web Bundle ID:
 * no chrome://iwa-dev page to load first (about 1 s). Resolves undefined when this Chromium has no such install
 * (then use the chrome://iwa-dev page); rejects with Chromium's reason when it refuses the app.
 */
export async function installFromDevProxyWithPwaInstall(
  cdp: CdpConnection,
  proxyUrl: string,
  manifest: { name?: string; version?: string },
): Promise<InstalledApp | undefined> {
  const webBundleId = base32Encode(new Uint8Array([...randomBytes(32), ...devProxyIdSuffix]));
  const manifestId = `isolated-app://${webBundleId}/`;
  try {
    await cdp.send("PWA.install", { manifestId, installUrlOrBundleUrl: proxyUrl });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // "PWA.install: Failed to install isolated-app://…/ from http://…: App is not installable: <reason>"
    const refusal = /Failed to install \S+ from \S+?:? (.*)$/s.exec(message);
    if (!refusal) return undefined;
    throw new IwaInstallError(
      `Chromium refused to install the app from ${proxyUrl}: ${refusal[1]}\nFix the app's manifest or files, then run again.`,
    );
  }
  return { webBundleId, name: manifest.name ?? "the app", installedVersion: manifest.version ?? "" };
}

export function proxyOriginOf(app: InstalledApp): string | undefined {
  const source = (app as { source?: { proxyOrigin?: { scheme: string; host: string; port: number } } }).source;
  const origin = source?.proxyOrigin;
  return origin ? `${origin.scheme}://${origin.host}:${origin.port}` : undefined;
}

/** A window of a launched app, attached over DevTools. */
export interface AppWindow {
  targetId: string;
  sessionId: string;
  origin: string;
}

interface TargetInfo {
  targetId: string;
  type: string;
  url: string;
}

async function pageTargets(cdp: CdpConnection, origin: string): Promise<TargetInfo[]> {
  const { targetInfos } = await cdp.send<{ targetInfos: TargetInfo[] }>("Target.getTargets");
  return targetInfos.filter(({ type, url }) => (type === "page" || type === "app") && url.startsWith(`${origin}/`));
}

/** Opens the app's window at `path` (e.g. "/?port=44818") and attaches to its page. */
export async function launchApp(cdp: CdpConnection, app: InstalledApp, path: string): Promise<AppWindow> {
  const origin = `isolated-app://${app.webBundleId}`;
  const before = new Set((await pageTargets(cdp, origin)).map(({ targetId }) => targetId));
  await cdp.send("PWA.launch", { manifestId: `${origin}/`, url: `${origin}${path}` }).catch((error: Error) => {
    throw new IwaInstallError(`Chromium installed the app but did not launch it: ${error.message}`);
  });
  // PWA.launch answers with the window's tab; the page inside it is a target of its own.
  // Polled often: the window appears within a few hundred milliseconds, and every start waits for it.
  for (let attempt = 0; attempt < 400; attempt++) {
    const page = (await pageTargets(cdp, origin)).find(({ targetId }) => !before.has(targetId));
    if (page) {
      const { targetId } = page;
      const { sessionId } = await cdp.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
      return { targetId, sessionId, origin };
    }
    await sleep(25);
  }
  throw new IwaInstallError(`Chromium launched the app but no window for ${origin} appeared`);
}
