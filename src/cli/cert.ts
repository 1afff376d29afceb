/** `browser-httpd cert --out DIR [--host NAME ...] [--days N] [--force]`: a self-signed certificate for local TLS. */

import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createSelfSignedCertificate, DEFAULT_DAYS, DEFAULT_HOSTS } from "../tls/x509.js";

const usage = `usage: browser-httpd cert --out DIR [--host NAME ...] [--days N] [--force]

Writes DIR/cert.pem (a self-signed ECDSA P-256 certificate) and DIR/key.pem (its private key, mode 0600).

  --out DIR     where to write them (made if missing)
  --host NAME   a DNS name or IP address the certificate is for; repeat for more (default: ${DEFAULT_HOSTS.join(", ")}).
                The first is also its common name.
  --days N      validity from now, in days (default ${DEFAULT_DAYS})
  --force       replace cert.pem and key.pem if they exist
  -h, --help    this help
`;

export default async function cert(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      host: { type: "string", multiple: true },
      days: { type: "string" },
      force: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (positionals.length > 0) throw new Error(`cert takes no positional arguments (got "${positionals[0]}")\n${usage}`);
  if (!values.out) throw new Error(`--out DIR is required\n${usage}`);
  const days = values.days === undefined ? DEFAULT_DAYS : /^\d+$/.test(values.days) ? Number(values.days) : Number.NaN;
  if (values.days !== undefined && !(days >= 1)) throw new Error(`--days must be a whole number of days, got "${values.days}"`);

  const { certificatePem, privateKeyPem, spkiSha256Base64 } = await createSelfSignedCertificate({ hosts: values.host, days });
  const certPath = join(values.out, "cert.pem");
  const keyPath = join(values.out, "key.pem");
  await mkdir(values.out, { recursive: true });
  if (values.force) await Promise.all([rm(certPath, { force: true }), rm(keyPath, { force: true })]);
  // "wx": both files are new, the key made with mode 0600 from the start (never readable by others, not even briefly).
  await writeNew(keyPath, privateKeyPem, 0o600);
  try {
    await writeNew(certPath, certificatePem, 0o644);
  } catch (error) {
    await rm(keyPath, { force: true });
    throw error;
  }
  const hosts = values.host?.length ? values.host : DEFAULT_HOSTS;
  process.stdout.write(
    `wrote ${certPath} (self-signed, ECDSA P-256, ${days} days) for ${hosts.join(", ")}\n` +
      `wrote ${keyPath} (private key, mode 0600)\n` +
      `SPKI SHA-256: ${spkiSha256Base64}\n` +
      `Chromium accepts it without a trust store change with: --ignore-certificate-errors-spki-list=${spkiSha256Base64}\n`,
  );
  return 0;
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: "wx", mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST")
      throw new Error(`${path} already exists; not overwriting it (--force replaces it)`);
    throw error;
  }
}
