/** The `--tls-cert`/`--tls-key` files of `serve` and `start`: read and checked before anything listens or launches. */

import { readFile } from "node:fs/promises";
import { loadTlsCredentials } from "../tls/credentials.js";

export interface TlsFiles {
  cert: string;
  key: string;
  certName: string;
  keyName: string;
}

/** Undefined without either flag; an error naming the flag or the file when one is missing or unusable. */
export async function readTlsFiles(certPath: string | undefined, keyPath: string | undefined): Promise<TlsFiles | undefined> {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new Error("HTTPS needs both --tls-cert FILE and --tls-key FILE (make a pair with: browser-httpd cert --out DIR)");
  }
  const read = (path: string, what: string) =>
    readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new Error(`${what} ${path}: cannot read it (${error.code ?? error.message})`);
    });
  const files = { cert: await read(certPath, "--tls-cert"), key: await read(keyPath, "--tls-key"), certName: certPath, keyName: keyPath };
  await loadTlsCredentials(files);
  return files;
}
