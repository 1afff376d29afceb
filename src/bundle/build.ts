/**
 * Building a Signed Web Bundle for an Isolated Web App from a set of files.
 *
 * Memory: the layout is computed from file sizes first, then one buffer of the final size (plus room for the
 * integrity block in front) is allocated and every file is read once, straight into its place. The integrity
 * block is then written into that room, so the result is a view of the same buffer: about one bundle's size,
 * plus what Web Crypto copies while hashing.
 */

import { iwaResponseHeaders, type HeaderOverrides } from "./headers.js";
import { maxIntegrityBlockLength } from "./integrity-block.js";
import type { SigningKey } from "./keys.js";
import { checkManifest, formatManifestProblems, manifestPath, withManifestVersion } from "./manifest.js";
import { resolveWebBundleId, signWebBundle } from "./signing.js";
import { isolatedAppOrigin } from "./web-bundle-id.js";
import { planWebBundle } from "./web-bundle.js";

/** Contents read when their turn comes, streamed into place: a Blob (a browser File, Node's `fs.openAsBlob`). */
export interface StreamableBody {
  readonly size: number;
  stream(): ReadableStream<Uint8Array>;
}

/**
 * Contents that write themselves into the place given, filling it exactly (or rejecting): the cheapest way to
 * read a file when the runtime can read into a given buffer (the CLI uses a Node FileHandle).
 */
export interface FillableBody {
  readonly size: number;
  readInto(target: Uint8Array): Promise<void>;
}

export interface BundleFile {
  /** Path within the app, "/"-separated: "index.html", "assets/app.js" (a leading "/" is allowed). */
  path: string;
  body: Uint8Array | string | StreamableBody | FillableBody;
}

export interface BuildProgress {
  phase: "reading" | "checking" | "signing";
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface BuildOptions {
  files: Iterable<BundleFile>;
  /** Every key signs; the bundle's Web Bundle ID is the first key's unless `webBundleId` picks another of them. */
  keys: readonly SigningKey[];
  webBundleId?: string;
  /** Replaces the manifest's `version` in the bundle (the source file is not touched). */
  version?: string;
  headerOverrides?: HeaderOverrides;
  /** Called after every file read and at each phase change. */
  onProgress?: (progress: BuildProgress) => void;
}

export interface BuiltSignedWebBundle {
  webBundleId: string;
  /** `isolated-app://ID/` */
  origin: string;
  /** The .swbn file: integrity block, then web bundle. */
  bytes: Uint8Array;
  integrityBlockLength: number;
  fileCount: number;
  /** Every URL in the index, sorted. */
  urls: string[];
}

const textEncoder = new TextEncoder();

function normalizePath(path: string): string {
  const segments = path.replace(/^\/+/, "").split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
    throw new Error(`file path "${path}" has an empty, "." or ".." segment`);
  }
  return segments.join("/");
}

function urlPathOf(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

async function readInto(body: StreamableBody | FillableBody, target: Uint8Array, path: string): Promise<void> {
  if ("readInto" in body) return body.readInto(target);
  const reader = body.stream().getReader();
  let offset = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (offset + value.length > target.length) {
      await reader.cancel();
      throw new Error(`${path} grew while it was being bundled`);
    }
    target.set(value, offset);
    offset += value.length;
  }
  if (offset !== target.length) throw new Error(`${path} shrank while it was being bundled`);
}

/**
 * Builds and signs an Isolated Web App bundle: every file at `isolated-app://ID/<path>`, each `index.html` also at
 * its directory's URL, with the IWA response headers. The manifest is checked before signing; problems throw one
 * Error listing each, "[rule] message", one per line.
 */
export async function buildSignedWebBundle(options: BuildOptions): Promise<BuiltSignedWebBundle> {
  const { keys, onProgress } = options;
  const webBundleId = await resolveWebBundleId(keys, options.webBundleId);
  const origin = isolatedAppOrigin(webBundleId);

  const files = [...options.files].map(({ path, body }) => ({
    path: normalizePath(path),
    body: typeof body === "string" ? textEncoder.encode(body) : body,
  }));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  files.forEach((file, i) => {
    if (i > 0 && files[i - 1]!.path === file.path) throw new Error(`file path "${file.path}" appears twice`);
  });

  if (options.version !== undefined) {
    const manifest = files.find((file) => `/${file.path}` === manifestPath);
    if (!manifest) throw new Error(formatManifestProblems([{ rule: "manifest-present", message: `${manifestPath} is missing` }]));
    const { body } = manifest;
    const bytes = body instanceof Uint8Array ? body : new Uint8Array(body.size);
    if (!(body instanceof Uint8Array)) await readInto(body, bytes, manifestPath);
    manifest.body = withManifestVersion(bytes, options.version);
  }

  const exchanges = files.map(({ path, body }) => {
    const urlPath = urlPathOf(path);
    const directoryIndex = /(^|\/)index\.html$/.exec(urlPath);
    const urls = [origin + urlPath];
    if (directoryIndex) urls.push(origin + urlPath.slice(0, directoryIndex.index + directoryIndex[1]!.length));
    const headers = iwaResponseHeaders(`/${path}`, options.headerOverrides);
    return { urls, status: 200, headers, bodyLength: body instanceof Uint8Array ? body.length : body.size };
  });
  const plan = planWebBundle(exchanges);

  const room = maxIntegrityBlockLength(
    webBundleId,
    keys.map((key) => key.algorithm),
  );
  const buffer = new Uint8Array(room + plan.length);
  const webBundle = buffer.subarray(room);
  const bodyOffsets = plan.writeFraming(webBundle);

  const progress: BuildProgress = {
    phase: "reading",
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: exchanges.reduce((sum, exchange) => sum + exchange.bodyLength, 0),
  };
  onProgress?.({ ...progress });
  const contents = new Map<string, Uint8Array>();
  for (const [i, { path, body }] of files.entries()) {
    const target = webBundle.subarray(bodyOffsets[i]!, bodyOffsets[i]! + exchanges[i]!.bodyLength);
    if (body instanceof Uint8Array) target.set(body);
    else await readInto(body, target, path);
    contents.set(`/${path}`, target);
    progress.filesDone++;
    progress.bytesDone += target.length;
    onProgress?.({ ...progress });
  }

  onProgress?.({ ...progress, phase: "checking" });
  const problems = checkManifest(contents);
  if (problems.length > 0) throw new Error(formatManifestProblems(problems));

  onProgress?.({ ...progress, phase: "signing" });
  const { integrityBlock } = await signWebBundle(webBundle, keys, { webBundleId });
  buffer.set(integrityBlock, room - integrityBlock.length);
  return {
    webBundleId,
    origin,
    bytes: buffer.subarray(room - integrityBlock.length),
    integrityBlockLength: integrityBlock.length,
    fileCount: files.length,
    urls: exchanges.flatMap((exchange) => exchange.urls).sort(),
  };
}
