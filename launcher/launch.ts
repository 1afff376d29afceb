/**
 * `browser-httpd start` as a function: build and sign the app, find Chromium, install and launch the IWA,
 * and hand back the running app (tests drive it the same way the CLI does).
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { loadOrCreateSigningKey, readSignedBundle, signApp } from "./app-bundle.js";
import { packageRoot, stageApp } from "./build-app.js";
import { findOrInstallChromium } from "./find-chromium.js";
import { AppStartError, type InstallRequest, type RunningIwa, portAnswers, startIwa } from "./start-iwa.js";
import { removeAbandonedProfiles } from "./temporary-profile.js";

export const defaultAppPort = 44818;
export const defaultKeyPath = join(packageRoot, ".keys", "iwa-signing-key.pem");
export const defaultBundlePath = join(packageRoot, "dist", "browser-httpd.swbn");

export type InstallMode = "dev-proxy" | "signed";

export interface LaunchOptions {
  /** `--chrome`; otherwise $CHROME_PATH or the usual names on $PATH. */
  chromePath?: string;
  headless?: boolean;
  /** A profile kept between runs; without it a temporary one is removed at close. */
  profileDir?: string;
  /** The app's port; without it the app picks its remembered one, or 44818. */
  port?: number;
  install?: InstallMode;
  keyPath?: string;
  bundlePath?: string;
  /** Where the app's files are assembled before signing (default dist/iwa). */
  stagingDir?: string;
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
  chromiumPath: string;
  headless: boolean;
  profileDir?: string;
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

export async function launch(options: LaunchOptions = {}): Promise<LaunchedApp> {
  const log = options.log ?? (() => undefined);
  const headless = options.headless ?? true;
  const install = options.install ?? "dev-proxy";
  const keyPath = absolute(options.keyPath ?? defaultKeyPath);
  const bundlePath = absolute(options.bundlePath ?? defaultBundlePath);
  const profileDir = options.profileDir === undefined ? undefined : absolute(options.profileDir);

  if (!headless && process.platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    throw new AppStartError("--headful needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set: " +
      "run it under xvfb-run (xvfb-run -a npm start -- --headful), or drop --headful");
  }

  // A fresh profile has no remembered port, so the app will take 44818: check it before starting anything.
  const expectedPort = options.port ?? (profileDir === undefined ? defaultAppPort : undefined);
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
  const staged = await stageApp({ stagingDir: options.stagingDir });
  const signingKey = await loadOrCreateSigningKey(keyPath);
  if (signingKey.created) log(`Generated a signing key: ${keyPath} (keep it: it fixes the app's Web Bundle ID).`);
  const signed = await signApp({ stagingDir: staged.stagingDir, files: staged.files, key: signingKey.key, bundlePath });
  log(`Signed ${signed.fileCount} files into ${bundlePath} (${signed.byteLength} bytes).`);

  let installRequest: InstallRequest;
  if (install === "dev-proxy") {
    const contents = await readSignedBundle(bundlePath);
    installRequest = { mode: "dev-proxy", responses: contents.responses };
  } else {
    installRequest = { mode: "signed", bundlePath, webBundleId: signed.webBundleId };
  }

  const running = await startIwa({
    executable: chromiumPath,
    headless,
    profileDir,
    install: installRequest,
    port: options.port,
    log,
    verbose: options.verbose,
  });
  return {
    ...running,
    bundlePath,
    bundleBytes: signed.byteLength,
    signedWebBundleId: signed.webBundleId,
    keyPath,
    keyCreated: signingKey.created,
    chromiumPath,
    headless,
    profileDir,
  };
}
