/** `browser-httpd keygen [--algorithm ed25519|ecdsa-p256] [--format pem|jwk] --out FILE` */

import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  exportPrivateKeyJwk,
  exportPrivateKeyPem,
  generateSigningKey,
  isolatedAppOrigin,
  keyAlgorithms,
  webBundleIdOf,
  type KeyAlgorithm,
} from "../bundle/index.js";

const usage = "usage: browser-httpd keygen [--algorithm ed25519|ecdsa-p256] [--format pem|jwk] --out FILE";

export default async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      algorithm: { type: "string", default: "ed25519" },
      format: { type: "string", default: "pem" },
      out: { type: "string" },
    },
  });
  const algorithm = values.algorithm as KeyAlgorithm;
  if (!keyAlgorithms.includes(algorithm)) throw new Error(`unknown --algorithm "${values.algorithm}"\n${usage}`);
  if (values.format !== "pem" && values.format !== "jwk") throw new Error(`unknown --format "${values.format}"\n${usage}`);
  if (!values.out) throw new Error(`--out FILE is required\n${usage}`);

  const key = await generateSigningKey(algorithm);
  const text = values.format === "pem" ? await exportPrivateKeyPem(key) : `${JSON.stringify(await exportPrivateKeyJwk(key), null, 2)}\n`;
  try {
    // "wx": never replace an existing key, which would orphan the app ID it defines.
    await writeFile(values.out, text, { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`${values.out} already exists; not overwriting a key`);
    throw error;
  }
  const id = await webBundleIdOf(key);
  process.stderr.write(`wrote ${algorithm} private key (${values.format}) to ${values.out}\n`);
  process.stdout.write(`${id}\n${isolatedAppOrigin(id)}\n`);
  return 0;
}
