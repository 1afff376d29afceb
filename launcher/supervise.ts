/**
 * Keeps the app serving while Chromium runs: when the app's page crashes (its renderer died: a crash, the OOM
 * killer, a kill), the page is loaded again in the same window, without restarting the browser, and serves again
 * on the same port. A page whose DevTools session is gone is launched in a new window instead. After
 * `maxCrashes` crashes within `windowMs` it is left down and supervision ends, saying so.
 *
 * `browser-httpd start` runs this on the app it launched; the tests run the same function.
 */
import { evaluate, launchApp } from "./iwa.js";
import { formatSeconds } from "./phases.js";
import type { RunningIwa } from "./start-iwa.js";
import { appLaunchPath, appStartExpression, waitUntilServing } from "./start-iwa.js";

/** What supervision needs of a launched app; `appTargetId`, `appSessionId` and `evaluateInApp` are updated in place when a new window replaces the old one. */
export type SupervisedApp = Pick<
  RunningIwa,
  "chromium" | "app" | "appOrigin" | "appTargetId" | "appSessionId" | "evaluateInApp" | "port" | "url" | "verbose" | "tls"
>;

export interface SuperviseOptions {
  log?: (line: string) => void;
  /** Crashes within `windowMs` after which the app is not restarted again (default 5). */
  maxCrashes?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Called after each restart that serves again. */
  onRestart?: (restart: Restart) => void;
}

export interface Restart {
  /** 1 for the first crash since supervision began. */
  crash: number;
  /** Chromium's word for how the page ended: "crashed", "killed", "oom", "failed to launch", ... */
  status: string;
  /** From the crash until the port answered again. */
  ms: number;
  /** How the page came back: loaded again in its window, or launched in a new one. */
  how: "reload" | "new window";
}

export type SupervisionEnd =
  | { reason: "stopped"; message: string }
  | { reason: "window closed"; message: string }
  | { reason: "browser exited"; message: string }
  | { reason: "crash loop"; message: string }
  | { reason: "restart failed"; message: string };

export interface Supervision {
  /** Settles once supervision ends: stop(), the window closed, Chromium exited, too many crashes, a failed restart. */
  ended: Promise<SupervisionEnd>;
  restarts: Restart[];
  /** Ends supervision (a restart under way is abandoned); the app is left as it is. */
  stop(): void;
}

/** How long a restarted page may take to serve (beyond this, Chromium's port may stay taken for a minute). */
const restartTimeoutMs = 30_000;

export function supervise(app: SupervisedApp, options: SuperviseOptions = {}): Supervision {
  const log = options.log ?? (() => undefined);
  const maxCrashes = options.maxCrashes ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const { cdp } = app.chromium;
  const restarts: Restart[] = [];
  const crashTimes: number[] = [];
  /** Pages closed here on purpose, whose targetDestroyed is not the user closing the window. */
  const replaced = new Set<string>();
  let crashes = 0;
  let restarting = false;
  let pendingCrash: { status: string; at: number } | undefined;
  let finished: SupervisionEnd | undefined;
  let resolveEnded!: (end: SupervisionEnd) => void;
  const ended = new Promise<SupervisionEnd>((resolve) => (resolveEnded = resolve));

  const unsubscribe: Array<() => void> = [];
  const end = (result: SupervisionEnd) => {
    if (finished) return;
    finished = result;
    for (const off of unsubscribe.splice(0)) off();
    resolveEnded(result);
  };

  /** Loads the crashed page again; when its session is gone, closes it and launches the app in a new window. */
  async function bringBack(): Promise<Restart["how"]> {
    const reloaded = await cdp.send("Page.reload", {}, app.appSessionId).then(
      () => true,
      () => false,
    );
    if (reloaded) return "reload";
    if (finished) return "reload";
    log("The crashed page cannot be reloaded (its DevTools session is gone); launching the app in a new window.");
    replaced.add(app.appTargetId);
    await cdp.send("Target.closeTarget", { targetId: app.appTargetId }).catch(() => undefined);
    const window = await launchApp(cdp, app.app, appLaunchPath(app.port, app.tls));
    if (app.verbose) await cdp.send("Runtime.enable", {}, window.sessionId).catch(() => undefined);
    app.appTargetId = window.targetId;
    app.appSessionId = window.sessionId;
    app.evaluateInApp = <T>(expression: string) => evaluate<T>(cdp, window.sessionId, expression);
    return "new window";
  }

  async function restart(status: string, crashedAt: number): Promise<void> {
    crashes++;
    const now = Date.now();
    crashTimes.push(now);
    while (crashTimes.length > 0 && crashTimes[0]! <= now - windowMs) crashTimes.shift();
    if (crashTimes.length >= maxCrashes) {
      end({
        reason: "crash loop",
        message:
          `the app's page crashed ${crashTimes.length} times within ${Math.round(windowMs / 1000)} s ` +
          `(last: ${status}); not restarting it again`,
      });
      return;
    }
    log(
      `The app's page crashed (${status}); loading it again to serve on port ${app.port} ` +
        `(crash ${crashTimes.length} within the last ${Math.round(windowMs / 1000)} s; at ${maxCrashes} the app is left down).`,
    );
    const how = await bringBack();
    if (finished) return;
    const evaluateInApp = <T>(expression: string) => evaluate<T>(cdp, app.appSessionId, expression);
    const served = await waitUntilServing(evaluateInApp, log, restartTimeoutMs, appStartExpression(app.tls));
    if (finished) return;
    const ms = performance.now() - crashedAt;
    const record: Restart = { crash: crashes, status, ms, how };
    restarts.push(record);
    log(
      `The app serves again at ${served.url} (restarted ${how === "reload" ? "in its window" : "in a new window"} ${formatSeconds(ms)} after the crash).`,
    );
    options.onRestart?.(record);
  }

  async function handleCrashes(first: { status: string; at: number }): Promise<void> {
    restarting = true;
    let crash: { status: string; at: number } | undefined = first;
    try {
      while (crash && !finished) {
        pendingCrash = undefined;
        await restart(crash.status, crash.at);
        // A crash of the page while it was being brought back is handled next.
        crash = pendingCrash;
      }
    } catch (error) {
      if (!finished) {
        end({
          reason: "restart failed",
          message: `the app's page crashed and did not come back: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    } finally {
      restarting = false;
    }
  }

  unsubscribe.push(
    cdp.on("Target.targetCrashed", (params) => {
      if (finished || params.targetId !== app.appTargetId) return;
      const status = `${String(params.status ?? "crashed")}${params.errorCode === undefined ? "" : `, code ${String(params.errorCode)}`}`;
      const crash = { status, at: performance.now() };
      if (restarting) pendingCrash = crash;
      else void handleCrashes(crash);
    }),
    cdp.on("Target.targetDestroyed", (params) => {
      const targetId = params.targetId as string;
      if (replaced.delete(targetId) || finished || targetId !== app.appTargetId) return;
      end({ reason: "window closed", message: "the app window was closed" });
    }),
  );
  void app.chromium.exited.then(() => end({ reason: "browser exited", message: "Chromium exited" }));
  // Crash and close events come only while targets are discovered.
  cdp.send("Target.setDiscoverTargets", { discover: true }).catch(() => undefined);

  return {
    ended,
    restarts,
    stop: () => end({ reason: "stopped", message: "supervision stopped" }),
  };
}
