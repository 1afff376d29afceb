/** `browser-httpd verify FILE.swbn [--list]`: checks the integrity block, every signature, the ID and the URLs. */

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type ParsedSignedWebBundle, verifySignedWebBundle } from "../bundle/index.js";

export default async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { list: { type: "boolean", default: false } },
  });
  if (positionals.length !== 1) throw new Error("usage: browser-httpd verify FILE.swbn [--list]");
  const path = positionals[0]!;
  // A Buffer is a Uint8Array: used as it is, a large bundle is not copied.
  const bytes = await readFile(path);
  let verified: ParsedSignedWebBundle;
  try {
    verified = await verifySignedWebBundle(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${path}: INVALID: ${reason.replace(/\s*\n\s*/g, "; ")}\n`);
    return 1;
  }
  const algorithms = verified.signatures.map((signature) => signature.algorithm).join(", ");
  process.stdout.write(
    `${path}: OK\n` +
      `Web Bundle ID: ${verified.webBundleId}\n` +
      `signatures: ${verified.signatures.length} (${algorithms})\n` +
      `URLs: ${verified.responses.size}\n` +
      `size: ${bytes.length} bytes\n`,
  );
  if (values.list) {
    for (const [url, response] of [...verified.responses].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const type = response.headers["content-type"] ?? "-";
      process.stdout.write(`${response.status} ${String(response.body.length).padStart(10)} ${type.padEnd(40)} ${url}\n`);
    }
  }
  return 0;
}
