#!/usr/bin/env node
/** The browser-httpd command: each subcommand lives in its own module, loaded on demand. */

const commands: Record<string, { module: string; summary: string }> = {
  start: {
    module: "./start.js",
    summary:
      "serve an app module, a folder or the demo app inside Chromium, as an IWA: start [FILE | --static DIR] [--tls-cert FILE --tls-key FILE] (127.0.0.1:44818)",
  },
  serve: {
    module: "./serve.js",
    summary:
      "run an app module, a folder or the demo app here: serve [FILE | --static DIR] [--host 127.0.0.1] [--port 8080] [--tls-cert FILE --tls-key FILE]",
  },
  init: { module: "./init.js", summary: "write a minimal app module, an icon, a config and a README section, ready for start: init [DIR]" },
  keygen: { module: "./keygen.js", summary: "generate a signing key [--algorithm ed25519|ecdsa-p256] [--format pem|jwk] --out FILE" },
  id: { module: "./id.js", summary: "print the Web Bundle ID of a key: id KEYFILE" },
  bundle: { module: "./bundle.js", summary: "build a signed web bundle: bundle DIR --key KEYFILE --out FILE.swbn [--version X]" },
  verify: { module: "./verify.js", summary: "check a signed web bundle: verify FILE.swbn [--list]" },
  cert: {
    module: "./cert.js",
    summary: "make a self-signed TLS certificate and key: cert --out DIR [--host NAME ...] [--days N] [--force]",
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`);
  return `usage: browser-httpd <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

/** A command module's default export: takes the arguments after the command name, returns the exit code. */
export type Command = (argv: string[]) => Promise<number>;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name ? 0 : 1;
  }
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`browser-httpd: unknown command '${name}'\n\n${usage()}`);
    return 1;
  }
  const { default: run } = (await import(entry.module)) as { default: Command };
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`browser-httpd: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
