/**
 * The keygen, id, bundle and verify commands end to end: `node dist/src/cli/main.js ...` in a child process,
 * checking exit codes, output, the files written, and that `wbn-sign` agrees on the IDs.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as wbnSign from "wbn-sign";
import { manifestRules, parseSignedWebBundle } from "../src/bundle/index.js";
import { bundleFixtures as fixtures, projectRoot, runCommand, type CommandResult } from "./fixtures/bundle/harness.js";

const cli = join(projectRoot, "dist", "src", "cli", "main.js");

function run(...args: string[]): Promise<CommandResult> {
  return runCommand(process.execPath, [cli, ...args], { timeoutMs: 60_000 });
}

describe("bundle CLI", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "browser-httpd-bundle-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keygen writes a 0600 key, prints its ID, and refuses to overwrite it", async () => {
    const path = join(dir, "ed.pem");
    const result = await run("keygen", "--out", path);
    assert.equal(result.code, 0, result.stderr);
    const [id, origin] = result.stdout.trim().split("\n");
    assert.match(id!, /^[a-z2-7]{56}$/);
    assert.equal(origin, `isolated-app://${id}/`);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const pem = await readFile(path, "utf8");
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(new wbnSign.WebBundleId(wbnSign.parsePemKey(Buffer.from(pem))).serialize(), id);

    const again = await run("keygen", "--out", path);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; not overwriting/);
    assert.equal(await readFile(path, "utf8"), pem, "the key is untouched");
  });

  it("keygen makes ECDSA P-256 keys as JWK; id reads both PEM and JWK, private or public", async () => {
    const path = join(dir, "ec.jwk");
    const result = await run("keygen", "--algorithm", "ecdsa-p256", "--format", "jwk", "--out", path);
    assert.equal(result.code, 0, result.stderr);
    const jwk = JSON.parse(await readFile(path, "utf8")) as JsonWebKey;
    assert.equal(jwk.kty, "EC");
    assert.equal(jwk.crv, "P-256");
    assert.ok(jwk.d);
    const id = await run("id", path);
    assert.equal(id.code, 0, id.stderr);
    assert.equal(id.stdout, result.stdout);
    assert.match(id.stdout, /^[a-z2-7]{58}\n/);

    const publicOnly = join(dir, "ec-public.jwk");
    await writeFile(publicOnly, JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }));
    assert.equal((await run("id", publicOnly)).stdout, result.stdout);

    const bad = await run("keygen", "--algorithm", "rsa", "--out", join(dir, "rsa.pem"));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown --algorithm "rsa"/);
  });

  it("bundle signs a folder with two keys, verify accepts it and --list shows every URL", async () => {
    const out = join(dir, "app.swbn");
    const result = await run(
      "bundle",
      join(fixtures, "app"),
      "--key",
      join(dir, "ed.pem"),
      "--key",
      join(dir, "ec.jwk"),
      "--out",
      out,
      "--version",
      "3.1.4",
    );
    assert.equal(result.code, 0, result.stderr);
    const id = (await run("id", join(dir, "ed.pem"))).stdout.split("\n")[0]!;
    assert.match(result.stdout, new RegExp(`^Web Bundle ID: ${id}\n`));
    assert.match(result.stdout, /\nfiles: 6\n/);
    const bytes = new Uint8Array(await readFile(out));
    assert.match(result.stdout, new RegExp(`\nsize: ${bytes.length} bytes\n`));

    const parsed = parseSignedWebBundle(bytes);
    const manifest = parsed.responses.get(`isolated-app://${id}/.well-known/manifest.webmanifest`)!;
    assert.equal(JSON.parse(new TextDecoder().decode(manifest.body)).version, "3.1.4");
    assert.ok(parsed.responses.has(`isolated-app://${id}/docs/read%20me.txt`));

    const verify = await run("verify", out, "--list");
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /: OK\n/);
    assert.match(verify.stdout, /signatures: 2 \(ed25519, ecdsa-p256\)/);
    for (const url of parsed.responses.keys()) assert.ok(verify.stdout.includes(` ${url}\n`), `--list shows ${url}`);
  });

  it("verify fails with one line and a non-zero exit on a tampered bundle", async () => {
    const bytes = new Uint8Array(await readFile(join(dir, "app.swbn")));
    bytes[bytes.length - 100]! ^= 0xff;
    const tampered = join(dir, "tampered.swbn");
    await writeFile(tampered, bytes);
    const result = await run("verify", tampered);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^[^\n]*INVALID: signature 1 \(ed25519\) does not verify[^\n]*\n$/);

    const notABundle = join(dir, "random.swbn");
    await writeFile(notABundle, "definitely not a bundle");
    const garbage = await run("verify", notABundle);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /^[^\n]*INVALID: [^\n]*\n$/);
  });

  it("bundle refuses a key file or an output file inside the folder", async () => {
    const app = join(dir, "app-with-key");
    await cp(join(fixtures, "app"), app, { recursive: true });
    await cp(join(dir, "ed.pem"), join(app, "signing.pem"));
    const result = await run("bundle", app, "--key", join(app, "signing.pem"), "--out", join(dir, "never.swbn"));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /lies inside .*refusing/);
    await assert.rejects(stat(join(dir, "never.swbn")), { code: "ENOENT" });

    const outInside = await run("bundle", join(fixtures, "app"), "--key", join(dir, "ed.pem"), "--out", join(fixtures, "app", "app.swbn"));
    assert.equal(outInside.code, 1);
    assert.match(outInside.stderr, /--out .* lies inside .*refusing/);
    await assert.rejects(stat(join(fixtures, "app", "app.swbn")), { code: "ENOENT" });
  });

  for (const rule of Object.keys(manifestRules)) {
    it(`bundle refuses fixture manifest/${rule}, naming the rule`, async () => {
      const out = join(dir, `${rule}.swbn`);
      const result = await run("bundle", join(fixtures, "manifest", rule), "--key", join(dir, "ed.pem"), "--out", out);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`\\[${rule}\\] `));
      await assert.rejects(stat(out), { code: "ENOENT" });
    });
  }
});
