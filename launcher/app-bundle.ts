/**
 * Signing the staged app into a .swbn with the project's key, and reading a .swbn back into the responses the
 * dev-mode proxy serves (after checking its signatures, so only what was signed is ever served).
 *
 * A signed bundle gets a stamp beside it (`<bundle>.stamp.json`): the digests of the files signed, the key's Web
 * Bundle ID, the digest of the signing code and of the bundle itself. `signStagedApp` keeps a bundle whose stamp
 * still matches all of them instead of signing again.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { listFiles } from "../src/node/list-files.js";
import {
  buildSignedWebBundle,
  exportPrivateKeyPem,
  generateSigningKey,
  importSigningKey,
  type SigningKey,
  verifySignedWebBundle,
  webBundleIdOf,
} from "../src/bundle/index.js";
import { sha256, type StagedApp } from "./build-app.js";
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

async function readStaged(stagingDir: string, paths: readonly string[]): Promise<Array<{ path: string; body: Uint8Array }>> {
  return Promise.all(paths.map(async (path) => ({ path, body: new Uint8Array(await readFile(join(stagingDir, path))) })));
}

async function signFiles(
  files: ReadonlyArray<{ path: string; body: Uint8Array }>,
  key: SigningKey,
  bundlePath: string,
): Promise<SignedApp & { bytes: Uint8Array }> {
  const built = await buildSignedWebBundle({ files, keys: [key] });
  await mkdir(dirname(bundlePath), { recursive: true });
  // Written beside it and renamed into place: a reader sees the old bundle or the new one, never half of one.
  const partial = `${bundlePath}.partial-${process.pid}`;
  await writeFile(partial, built.bytes);
  await rename(partial, bundlePath).catch(async (error: unknown) => {
    await rm(partial, { force: true });
    throw error;
  });
  return {
    bundlePath,
    webBundleId: built.webBundleId,
    byteLength: built.bytes.byteLength,
    fileCount: built.fileCount,
    bytes: built.bytes,
  };
}

/** Signs every file of `stagingDir` into `bundlePath`. */
export async function signApp(options: {
  stagingDir: string;
  files: readonly string[];
  key: SigningKey;
  bundlePath: string;
}): Promise<SignedApp> {
  const { bytes: _bytes, ...signed } = await signFiles(
    await readStaged(options.stagingDir, options.files),
    options.key,
    options.bundlePath,
  );
  return signed;
}

interface SignStamp {
  format: 1;
  /** Digest of the compiled signing code (dist/src/bundle): a changed signer signs again. */
  signer: string;
  webBundleId: string;
  /** Every file signed (relative path) and its SHA-256. */
  files: Record<string, string>;
  bundle: { sha256: string; byteLength: number; fileCount: number };
}

export interface SignedStagedApp extends SignedApp {
  /** True when the bundle already there was signed from the same files with the same key, and was kept. */
  reused: boolean;
}

function signStampPath(bundlePath: string): string {
  return `${bundlePath}.stamp.json`;
}

let signerDigestCache: Promise<string> | undefined;

/** SHA-256 over the signing code this launcher runs (the compiled src/bundle folder). */
function signerDigest(): Promise<string> {
  return (signerDigestCache ??= (async () => {
    const dir = fileURLToPath(new URL("../src/bundle/", import.meta.url));
    const files = (await listFiles(dir)).filter((file) => file.endsWith(".js"));
    const parts = await Promise.all(files.map(async (file) => `${file} ${sha256(await readFile(join(dir, file)))}`));
    return sha256(parts.join("\n"));
  })());
}

function sameDigests(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/**
 * Signs the staged app into `bundlePath`, unless the bundle there was signed from the same staged files, with
 * the same key and signing code, and is byte for byte what was written then (its stamp says so): that bundle is
 * kept. A changed file, key or signer, or a bundle changed or replaced since, signs again.
 */
export async function signStagedApp(options: { staged: StagedApp; key: SigningKey; bundlePath: string }): Promise<SignedStagedApp> {
  const { staged, key, bundlePath } = options;
  const [signer, webBundleId] = await Promise.all([signerDigest(), webBundleIdOf(key)]);
  const stamp = await readFile(signStampPath(bundlePath), "utf8")
    .then((text) => JSON.parse(text) as SignStamp)
    .catch(() => undefined);
  if (
    stamp?.format === 1 &&
    stamp.signer === signer &&
    stamp.webBundleId === webBundleId &&
    sameDigests(stamp.files, Object.fromEntries(staged.files.map((file) => [file, staged.digests[file] ?? ""])))
  ) {
    const bytes = await readFile(bundlePath).catch(() => undefined);
    if (bytes && bytes.byteLength === stamp.bundle.byteLength && sha256(bytes) === stamp.bundle.sha256) {
      return { bundlePath, webBundleId, byteLength: bytes.byteLength, fileCount: stamp.bundle.fileCount, reused: true };
    }
  }
  await rm(signStampPath(bundlePath), { force: true });
  // The stamp names the bytes that were signed, read once for both.
  const contents = await readStaged(staged.stagingDir, staged.files);
  const { bytes, ...signed } = await signFiles(contents, key, bundlePath);
  const fresh: SignStamp = {
    format: 1,
    signer,
    webBundleId: signed.webBundleId,
    files: Object.fromEntries(contents.map(({ path, body }) => [path, sha256(body)])),
    bundle: { sha256: sha256(bytes), byteLength: bytes.byteLength, fileCount: signed.fileCount },
  };
  await writeFile(signStampPath(bundlePath), JSON.stringify(fresh, null, 1) + "\n");
  return { ...signed, reused: false };
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
