/**
 * Signing the staged app into a .swbn with the project's key, and reading a .swbn back into the responses the
 * dev-mode proxy serves (after checking its signatures, so only what was signed is ever served).
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  buildSignedWebBundle,
  exportPrivateKeyPem,
  generateSigningKey,
  importSigningKey,
  type SigningKey,
  verifySignedWebBundle,
} from "../src/bundle/index.js";
import type { StoredResponse } from "./dev-proxy.js";

export interface SigningKeyFile {
  key: SigningKey;
  path: string;
  /** True when this call generated the key. */
  created: boolean;
}

/** Reads the PEM key at `path`, or generates an Ed25519 key there (mode 0600) when the file does not exist. */
export async function loadOrCreateSigningKey(path: string): Promise<SigningKeyFile> {
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (text !== undefined) {
    try {
      return { key: await importSigningKey(text), path, created: false };
    } catch (error) {
      throw new Error(`the signing key ${path} is unusable: ${(error as Error).message}`);
    }
  }
  const key = await generateSigningKey("ed25519");
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, await exportPrivateKeyPem(key), { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  return { key, path, created: true };
}

export interface SignedApp {
  bundlePath: string;
  webBundleId: string;
  byteLength: number;
  fileCount: number;
}

/** Signs every file of `stagingDir` into `bundlePath`. */
export async function signApp(options: {
  stagingDir: string;
  files: readonly string[];
  key: SigningKey;
  bundlePath: string;
}): Promise<SignedApp> {
  const files = await Promise.all(
    options.files.map(async (path) => ({ path, body: new Uint8Array(await readFile(join(options.stagingDir, path))) })),
  );
  const built = await buildSignedWebBundle({ files, keys: [options.key] });
  await mkdir(dirname(options.bundlePath), { recursive: true });
  await writeFile(options.bundlePath, built.bytes);
  return {
    bundlePath: options.bundlePath,
    webBundleId: built.webBundleId,
    byteLength: built.bytes.byteLength,
    fileCount: built.fileCount,
  };
}

export interface BundleContents {
  webBundleId: string;
  /** Keyed by path within the app: "/", "/index.html", "/main.js", ... */
  responses: Map<string, StoredResponse>;
}

/** Verifies the signed bundle at `bundlePath` and returns its responses by path. */
export async function readSignedBundle(bundlePath: string): Promise<BundleContents> {
  const bytes = new Uint8Array(await readFile(bundlePath));
  const verified = await verifySignedWebBundle(bytes).catch((error: Error) => {
    throw new Error(`${bundlePath} does not verify, so it will not be served: ${error.message}`);
  });
  const responses = new Map<string, StoredResponse>();
  for (const [url, response] of verified.responses) responses.set(new URL(url).pathname, response);
  return { webBundleId: verified.webBundleId, responses };
}
