/**
 * `browser-httpd start` as a function: build and sign the app, find Chromium, install and launch the IWA,
 * and hand back the running app (tests drive it the same way the CLI does).
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { loadOrCreateSigningKey, readSignedBundle, type SignedStagedApp, signStagedApp } from "./app-bundle.js";
import { type AppExtras, packageRoot, type StagedApp, stageApp } from "./build-app.js";
import { findOrInstallChromium } from "./find-chromium.js";
import { checkServedApp, type ServedApp, servedName } from "./served-app.js";
import { formatSeconds, PhaseClock } from "./phases.js";
import { type AppTls, AppStartError, type InstallRequest, type RunningIwa, portAnswers, startIwa } from "./start-iwa.js";
import { removeAbandonedProfiles } from "./temporary-profile.js";

export const defaultAppPort = 44818;
export const defaultKeyPath = join(packageRoot, ".keys", "iwa-signing-key.pem");
export const defaultBundlePath = join(packageRoot, "dist", "browser-httpd.swbn");

export type InstallMode = "dev-proxy" | "signed";

/** Why `start` refuses port 0, wherever it comes from (--port, the config, the module). */
export const portZeroRule =
  "start needs a fixed port from 1 to 65535: inside Chromium the app listens with Direct Sockets on the port it is " +
  "given, and start waits for that port and prints it (0, any free port, is for serve)";

export interface LaunchOptions extends AppExtras {
  /** `--chrome`; otherwise $CHROME_PATH or the usual names on $PATH. */
  chromePath?: string;
  headless?: boolean;
  /** A profile kept between runs; without it a temporary one is removed at close. */
  profileDir?: string;
  /** The app's port; without it the app picks its remembered one, or 44818. */
  port?: number;
  /** HTTPS with these PEM credentials (checked before Chromium starts; never put in the bundle). */
  tls?: AppTls;
  install?: InstallMode;
  keyPath?: string;
  bundlePath?: string;
  /** Where the app's files are assembled before signing (default dist/iwa). */
  stagingDir?: string;
  /** The app's source folder (default app/ of the package). */
  appDir?: string;
  /** What the app serves: the user's module or a folder; the demo without it. */
  served?: ServedApp;
  log?: (line: string) => void;
  verbose?: boolean;
}

export interface LaunchedApp extends RunningIwa {
  bundlePath: string;
  bundleBytes: number;
  /** The Web Bundle ID of the signed bundle (the dev-mode install runs under a random one, `appOrigin`). */
  signedWebBundleId: string;
  keyPath: string;
  keyCreated: boolean;
  /** True when the bundle signed by an earlier start still matched the staged files and key, and was used as it was. */
  bundleReused: boolean;
  chromiumPath: string;
  headless: boolean;
  profileDir?: string;
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

export interface BuiltApp {
  staged: StagedApp;
  signed: SignedStagedApp;
  keyCreated: boolean;
  /** "app build" ended; "sign" is marked by the caller once it has read what it needs of the bundle. */
  clock: PhaseClock;
}

/**
 * Stages the app (esbuild) and signs it with the key at `keyPath` (generated when missing) into `bundlePath`;
 * either step keeps the result of an earlier start when nothing it depends on changed.
 */
export async function buildApp(options: {
  keyPath: string;
  bundlePath: string;
  stagingDir?: string;
  appDir?: string;
  served?: ServedApp;
  extras?: AppExtras;
  log?: (line: string) => void;
}): Promise<BuiltApp> {
  const log = options.log ?? (() => undefined);
  const clock = new PhaseClock();
  const staged = await stageApp({
    stagingDir: options.stagingDir,
    appDir: options.appDir,
    served: options.served,
    ...options.extras,
  });
  clock.mark("app build", staged.reused ? "reused" : "esbuild");
  const signingKey = await loadOrCreateSigningKey(options.keyPath);
  if (signingKey.created) log(`Generated a signing key: ${options.keyPath} (keep it: it fixes the app's Web Bundle ID).`);
  const signed = await signStagedApp({ staged, key: signingKey.key, bundlePath: options.bundlePath });
  return { staged, signed, keyCreated: signingKey.created, clock };
}

export async function launch(options: LaunchOptions = {}): Promise<LaunchedApp> {
  const log = options.log ?? (() => undefined);
  const headless = options.headless ?? true;
  const install = options.install ?? "dev-proxy";
  const keyPath = absolute(options.keyPath ?? defaultKeyPath);
  const bundlePath = absolute(options.bundlePath ?? defaultBundlePath);
  const profileDir = options.profileDir === undefined ? undefined : absolute(options.profileDir);

  if (!headless && process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    throw new AppStartError(
      "--headful needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set: " +
        "run it under xvfb-run (xvfb-run -a npm start -- --headful), or drop --headful",
    );
  }

  // A module that cannot run is refused here, before anything starts, with the file and the rule.
  const checked = options.served ? await checkServedApp(options.served, log) : {};
  if (options.port === 0) throw new AppStartError(`port 0: ${portZeroRule}`);
  if (options.port === undefined && checked.port === 0) {
    throw new AppStartError(`${servedName(options.served!)}: port 0: ${portZeroRule}; pass --port N to override it`);
  }

  // A fresh profile has no remembered port, so the app will take the module's port or 44818: check it before starting anything.
  const expectedPort = options.port ?? checked.port ?? (profileDir === undefined ? defaultAppPort : undefined);
  if (expectedPort !== undefined && (await portAnswers(expectedPort, 500))) {
    throw new AppStartError(
      `port ${expectedPort} on 127.0.0.1 is already in use (another browser-httpd?). ` +
        "Stop what listens there, or pass --port with another port.",
    );
  }

  // Runs killed outright (SIGKILL) leave their temporary profile; whatever nothing uses any more goes now.
  const abandoned = await removeAbandonedProfiles();
  if (abandoned.length > 0) {
    const folders = abandoned.length === 1 ? "1 temporary profile" : `${abandoned.length} temporary profiles`;
    log(`Removed ${folders} that runs killed before cleaning up left in ${dirname(abandoned[0]!)}.`);
  }

  const chromiumPath = findOrInstallChromium({ explicitPath: options.chromePath, log });
  const { signed, keyCreated, clock } = await buildApp({
    keyPath,
    bundlePath,
    stagingDir: options.stagingDir,
    appDir: options.appDir,
    served: options.served,
    extras: { name: options.name, icon: options.icon, include: options.include },
    log,
  });

  let installRequest: InstallRequest;
  if (install === "dev-proxy") {
    const contents = await readSignedBundle(bundlePath);
    installRequest = { mode: "dev-proxy", responses: contents.responses };
  } else {
    installRequest = { mode: "signed", bundlePath, webBundleId: signed.webBundleId };
  }
  const signPhase = clock.mark("sign", signed.reused ? "reused" : undefined);
  log(
    signed.reused
      ? `Reused ${bundlePath} (${signed.byteLength} bytes): signed earlier from these same ${signed.fileCount} files with this key.`
      : `Signed ${signed.fileCount} files into ${bundlePath} (${signed.byteLength} bytes) in ${formatSeconds(signPhase.ms)}.`,
  );

  const running = await startIwa({
    executable: chromiumPath,
    headless,
    profileDir,
    install: installRequest,
    port: options.port,
    tls: options.tls,
    log,
    verbose: options.verbose,
  });
  return {
    ...running,
    phases: [...clock.phases, ...running.phases],
    bundlePath,
    bundleBytes: signed.byteLength,
    signedWebBundleId: signed.webBundleId,
    keyPath,
    keyCreated,
    bundleReused: signed.reused,
    chromiumPath,
    headless,
    profileDir,
  };
}
