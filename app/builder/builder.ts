/**
 * The in-app bundle builder: the user picks a folder or files, generates or imports a key, and gets a signed
 * .swbn built by the same library the CLI uses. Runs under the IWA's CSP (Trusted Types: no HTML strings, only
 * DOM nodes and textContent).
 *
 * `window.buildBundleFromFiles(files, options?)` does the same without the pickers, for tests and scripting.
 */

import {
  buildSignedWebBundle,
  exportPrivateKeyPem,
  generateSigningKey,
  importSigningKey,
  webBundleIdOf,
  type BuildProgress,
  type BundleFile,
  type KeyAlgorithm,
  type SigningKey,
} from "../../src/bundle/index.js";

export interface BuildFromFilesOptions {
  /** A PEM or JWK private key; without it the page's current key is used (generated on first need). */
  keyText?: string;
  algorithm?: KeyAlgorithm;
  version?: string;
}

declare global {
  interface Window {
    buildBundleFromFiles(files: ReadonlyArray<File | BundleFile>, options?: BuildFromFilesOptions): Promise<Uint8Array>;
  }
}

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`builder page lacks #${id}`);
  return found as T;
}

const ui = {
  pickFolder: element<HTMLInputElement>("pick-folder"),
  pickFiles: element<HTMLInputElement>("pick-files"),
  fileSummary: element<HTMLParagraphElement>("file-summary"),
  algorithm: element<HTMLSelectElement>("algorithm"),
  generateKey: element<HTMLButtonElement>("generate-key"),
  importKey: element<HTMLInputElement>("import-key"),
  downloadKey: element<HTMLButtonElement>("download-key"),
  keySummary: element<HTMLParagraphElement>("key-summary"),
  version: element<HTMLInputElement>("version"),
  build: element<HTMLButtonElement>("build"),
  progress: element<HTMLProgressElement>("progress"),
  status: element<HTMLParagraphElement>("status"),
  downloadBundle: element<HTMLAnchorElement>("download-bundle"),
};

const keyUrlLifetimeMs = 60_000;

let chosenFiles: BundleFile[] = [];
let currentKey: SigningKey | null = null;
let bundleUrl: string | null = null;

/** A picked file's path within the app: a folder pick's relative path without the folder's own name. */
function bundleFileOf(file: File | BundleFile): BundleFile {
  if (!(file instanceof File)) return file;
  const relative = file.webkitRelativePath;
  return { path: relative ? relative.slice(relative.indexOf("/") + 1) : file.name, body: file };
}

function showStatus(text: string, kind: "info" | "error" | "done" = "info"): void {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

function saveAs(blob: Blob, name: string): string {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  return url;
}

async function useKey(key: SigningKey, source: string): Promise<void> {
  currentKey = key;
  ui.keySummary.textContent = `${source} ${key.algorithm} key, Web Bundle ID ${await webBundleIdOf(key)}`;
  ui.downloadKey.disabled = false;
}

async function keyFor(options: BuildFromFilesOptions): Promise<SigningKey> {
  if (options.keyText !== undefined) return importSigningKey(options.keyText);
  if (!currentKey) await useKey(await generateSigningKey(options.algorithm ?? "ed25519"), "Generated");
  return currentKey!;
}

function showProgress(progress: BuildProgress): void {
  ui.progress.hidden = false;
  ui.progress.value = progress.bytesTotal ? progress.bytesDone / progress.bytesTotal : 1;
  showStatus(`${progress.phase}: ${progress.filesDone}/${progress.filesTotal} files, ${megabytes(progress.bytesDone)}`);
}

async function buildBundleFromFiles(files: ReadonlyArray<File | BundleFile>, options: BuildFromFilesOptions = {}): Promise<Uint8Array> {
  const built = await buildSignedWebBundle({
    files: files.map(bundleFileOf),
    keys: [await keyFor(options)],
    version: options.version,
    onProgress: showProgress,
  });
  showStatus(
    `Signed ${built.fileCount} files, ${megabytes(built.bytes.length)}\nWeb Bundle ID ${built.webBundleId}\n${built.origin}`,
    "done",
  );
  return built.bytes;
}

window.buildBundleFromFiles = buildBundleFromFiles;

function pickFrom(input: HTMLInputElement): void {
  const picked = [...(input.files ?? [])];
  chosenFiles = picked.map(bundleFileOf);
  const total = picked.reduce((sum, file) => sum + file.size, 0);
  ui.fileSummary.textContent = chosenFiles.length ? `${chosenFiles.length} files, ${megabytes(total)}` : "No files chosen.";
  ui.build.disabled = chosenFiles.length === 0;
}

/** Runs a UI action, showing its failure instead of losing it in the console. */
function guarded(action: () => Promise<void>): () => void {
  return () => {
    action().catch((error: unknown) => {
      ui.progress.hidden = true;
      showStatus(error instanceof Error ? error.message : String(error), "error");
    });
  };
}

ui.pickFolder.addEventListener("change", () => pickFrom(ui.pickFolder));
ui.pickFiles.addEventListener("change", () => pickFrom(ui.pickFiles));

ui.generateKey.addEventListener(
  "click",
  guarded(async () => useKey(await generateSigningKey(ui.algorithm.value as KeyAlgorithm), "Generated")),
);

ui.importKey.addEventListener(
  "change",
  guarded(async () => {
    const file = ui.importKey.files?.[0];
    if (file) await useKey(await importSigningKey(await file.text()), `Imported ${file.name}:`);
  }),
);

ui.downloadKey.addEventListener(
  "click",
  guarded(async () => {
    if (!currentKey) return;
    const pem = await exportPrivateKeyPem(currentKey);
    const url = saveAs(new Blob([pem], { type: "application/x-pem-file" }), `${await webBundleIdOf(currentKey)}.pem`);
    // The download starts asynchronously; the URL must outlive the click.
    setTimeout(() => URL.revokeObjectURL(url), keyUrlLifetimeMs);
  }),
);

ui.build.addEventListener(
  "click",
  guarded(async () => {
    ui.build.disabled = true;
    try {
      const bytes = await buildBundleFromFiles(chosenFiles, {
        algorithm: ui.algorithm.value as KeyAlgorithm,
        version: ui.version.value.trim() || undefined,
      });
      if (bundleUrl) URL.revokeObjectURL(bundleUrl);
      bundleUrl = saveAs(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/webbundle" }), "app.swbn");
      ui.downloadBundle.href = bundleUrl;
      ui.downloadBundle.download = "app.swbn";
      ui.downloadBundle.hidden = false;
    } finally {
      ui.build.disabled = false;
    }
  }),
);
