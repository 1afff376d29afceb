/** `browser-httpd id KEYFILE`: the Web Bundle ID of a private or public key file (PEM or JWK). */

import { readFile } from "node:fs/promises";
import { importKey, isolatedAppOrigin, webBundleIdOf } from "../bundle/index.js";

export default async function id(argv: string[]): Promise<number> {
  if (argv.length !== 1 || argv[0]!.startsWith("-")) throw new Error("usage: browser-httpd id KEYFILE");
  const key = await importKey(await readFile(argv[0]!, "utf8"));
  const webBundleId = await webBundleIdOf(key);
  process.stdout.write(`${webBundleId}\n${isolatedAppOrigin(webBundleId)}\n`);
  return 0;
}
