/**
 * TLS credentials and certificates, checked with real tools: the self-signed certificate as openssl prints and
 * verifies it, served by `openssl s_server` to curl and gnutls-cli that trust it through --cacert/--x509cafile;
 * keys of every supported kind made by openssl, their signatures verified by openssl; the errors, each naming its
 * file and rule; and `browser-httpd cert`.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Tag, ecdsaDerToRaw, oidToString, readChildren, readTlv } from "../src/shared/der.js";
import * as der from "../src/shared/der-writer.js";
import { loadTlsCredentials, SignatureScheme } from "../src/tls/credentials.js";
import { createSelfSignedCertificate, spkiSha256Base64 } from "../src/tls/x509.js";
import { runCli } from "./fixtures/cli.js";
import { withTimeout } from "./fixtures/http/harness.js";
import { freePort } from "./fixtures/iwa/free-port.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to its end (20 s at most; then code -1), never rejecting: the exit code says how it went. */
function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { cwd, timeout: 20_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    // An empty stdin: gnutls-cli and s_client end when it does.
    child.stdin?.end();
  });
}

/** Runs a tool that must succeed, returning its stdout. */
async function ok(command: string, args: string[], cwd: string): Promise<string> {
  const result = await run(command, args, cwd);
  assert.equal(result.code, 0, `${command} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/**
 * `openssl s_server -www -tls1_3` on 127.0.0.1 (it cannot listen on port 0 and report it: a port free a moment ago),
 * once it prints ACCEPT; three ports are tried in case one was taken in between.
 */
async function startSServer(cert: string, key: string, cwd: string): Promise<{ child: ChildProcess; port: number }> {
  let lastOutput = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn("openssl", ["s_server", "-cert", cert, "-key", key, "-accept", `127.0.0.1:${port}`, "-www", "-tls1_3"], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const ready = new Promise<boolean>((resolve) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("ACCEPT")) resolve(true);
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", () => resolve(false));
    });
    if (await withTimeout(ready, 10_000, "openssl s_server to accept")) return { child, port };
    lastOutput = output;
    child.kill();
  }
  throw new Error(`openssl s_server did not start: ${lastOutput}`);
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill();
  await withTimeout(exited, 10_000, "child to exit");
}

/** The DER inside the first PEM block of a text. */
function pemDer(text: string): Uint8Array {
  const body = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END/.exec(text)?.[1];
  assert.ok(body, "a PEM block");
  return new Uint8Array(Buffer.from(body, "base64"));
}

/** CertificateVerify-shaped content: 64 spaces, the context string, a zero byte, a transcript hash. */
function certificateVerifyContent(): Uint8Array {
  const content = Buffer.concat([
    Buffer.alloc(64, 0x20),
    Buffer.from("TLS 1.3, server CertificateVerify"),
    Buffer.alloc(1),
    Buffer.from(crypto.getRandomValues(new Uint8Array(48))),
  ]);
  return new Uint8Array(content);
}

let dir: string;
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "browser-httpd-tls-credentials-"));
});

after(async () => {
  await Promise.all(children.map(stopChild));
  await rm(dir, { recursive: true, force: true });
});

describe("createSelfSignedCertificate", () => {
  let generated: Awaited<ReturnType<typeof createSelfSignedCertificate>>;
  before(async () => {
    generated = await createSelfSignedCertificate();
    await writeFile(join(dir, "cert.pem"), generated.certificatePem);
    await writeFile(join(dir, "key.pem"), generated.privateKeyPem, { mode: 0o600 });
  });

  it("is an X.509 v3 certificate with the default names, as openssl reads it", async () => {
    const text = await ok("openssl", ["x509", "-in", "cert.pem", "-noout", "-text"], dir);
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Issuer: CN ?= ?localhost/);
    assert.match(text, /Subject: CN ?= ?localhost/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /X509v3 Subject Alternative Name: *\n\s*DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1\n/);
    assert.match(text, /X509v3 Basic Constraints: critical\n\s*CA:FALSE/);
    assert.match(text, /X509v3 Key Usage: critical\n\s*Digital Signature\n/);
    assert.match(text, /X509v3 Extended Key Usage: *\n\s*TLS Web Server Authentication\n/);
    const serial = /Serial Number:\s*\n?\s*([0-9a-f:]+)/i.exec(text)?.[1];
    assert.ok(serial && serial.replaceAll(":", "").length >= 16, `a random serial, got ${serial}`);
    // The DER is what the PEM holds, and the key is its key.
    assert.deepEqual(pemDer(generated.certificatePem), generated.certificate);
    const certKey = await ok("openssl", ["x509", "-in", "cert.pem", "-noout", "-pubkey"], dir);
    const keyKey = await ok("openssl", ["pkey", "-in", "key.pem", "-pubout"], dir);
    assert.equal(certKey, keyKey);
  });

  it("verifies as its own trust anchor, also for the sslserver purpose", async () => {
    assert.match(await ok("openssl", ["verify", "-CAfile", "cert.pem", "cert.pem"], dir), /cert\.pem: OK/);
    assert.match(await ok("openssl", ["verify", "-CAfile", "cert.pem", "-purpose", "sslserver", "cert.pem"], dir), /cert\.pem: OK/);
  });

  it("spkiSha256Base64 is the SHA-256 of the certificate's public key info as openssl exports it", async () => {
    const spki = pemDer(await ok("openssl", ["x509", "-in", "cert.pem", "-noout", "-pubkey"], dir));
    const expected = createHash("sha256").update(spki).digest("base64");
    assert.equal(generated.spkiSha256Base64, expected);
    assert.equal(await spkiSha256Base64(generated.certificate), expected);
  });

  describe("served by openssl s_server", () => {
    let port: number;
    before(async () => {
      const server = await startSServer("cert.pem", "key.pem", dir);
      children.push(server.child);
      port = server.port;
    });

    const curl = (host: string, ...extra: string[]) =>
      run(
        "curl",
        ["-sS", "--max-time", "10", "--cacert", "cert.pem", "--resolve", `${host}:${port}:127.0.0.1`, ...extra, `https://${host}:${port}/`],
        dir,
      );

    it("curl --cacert accepts it for localhost and 127.0.0.1, over TLS 1.3", async () => {
      for (const host of ["localhost", "127.0.0.1"]) {
        const result = await curl(host, "--tlsv1.3");
        assert.equal(result.code, 0, `curl https://${host}: ${result.stderr}`);
        assert.match(result.stdout, /s_server -cert cert\.pem/);
        assert.match(result.stdout, /TLSv1\.3/);
      }
    });

    it("curl refuses it for another name, and without --cacert", async () => {
      const wrongName = await curl("wrong.example");
      assert.equal(wrongName.code, 60, wrongName.stderr);
      assert.match(wrongName.stderr, /subject name|does not match/i);
      const untrusted = await run("curl", ["-sS", "--max-time", "10", `https://127.0.0.1:${port}/`], dir);
      assert.equal(untrusted.code, 60, untrusted.stderr);
    });

    it("gnutls-cli --x509cafile accepts it for localhost and 127.0.0.1, and refuses another name", async () => {
      const gnutls = (...args: string[]) => run("gnutls-cli", ["--x509cafile", "cert.pem", "-p", String(port), ...args], dir);
      const byName = await gnutls("--verify-hostname", "localhost", "127.0.0.1");
      assert.equal(byName.code, 0, byName.stdout + byName.stderr);
      assert.match(byName.stdout, /The certificate is trusted/);
      assert.match(byName.stdout, /TLS1\.3/);
      const byAddress = await gnutls("127.0.0.1");
      assert.equal(byAddress.code, 0, byAddress.stdout + byAddress.stderr);
      const wrongName = await gnutls("--verify-hostname", "wrong.example", "127.0.0.1");
      assert.notEqual(wrongName.code, 0);
      assert.match(wrongName.stdout + wrongName.stderr, /NOT trusted/);
    });
  });

  it("takes hosts: DNS names lower-cased, IPv4 and IPv6 (bracketed or not) as iPAddress entries", async () => {
    const made = await createSelfSignedCertificate({
      hosts: ["Example.TEST", "*.example.test", "10.1.2.3", "[2001:DB8::1]", "::ffff:192.0.2.1"],
      days: 2,
    });
    const path = join(dir, "hosts.pem");
    await writeFile(path, made.certificatePem);
    const text = await ok("openssl", ["x509", "-in", path, "-noout", "-text"], dir);
    assert.match(text, /Subject: CN ?= ?example\.test\n/);
    assert.match(
      text,
      /DNS:example\.test, DNS:\*\.example\.test, IP Address:10\.1\.2\.3, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:FFFF:C000:201\n/,
    );
    // Valid for 2 days: not expiring within one, expired within three.
    assert.equal((await run("openssl", ["x509", "-in", path, "-noout", "-checkend", String(86_400)], dir)).code, 0);
    assert.equal((await run("openssl", ["x509", "-in", path, "-noout", "-checkend", String(3 * 86_400)], dir)).code, 1);
  });

  it("refuses hosts it cannot put in a certificate, and bad day counts", async () => {
    for (const [hosts, message] of [
      [["bad_name"], /"bad_name" is not a valid host name/],
      [["-leading.example"], /is not a valid host name/],
      [["256.1.1.1"], /"256\.1\.1\.1" is not a valid IPv4 address/],
      [["1::2::3"], /"1::2::3" is not a valid IPv6 address/],
      [["bücher.example"], /xn-- \(punycode\)/],
      [[], /at least one host/],
      [[`${"a".repeat(60)}.example`], /longer than 64 characters/],
    ] as const) {
      await assert.rejects(createSelfSignedCertificate({ hosts: [...hosts] }), message as RegExp);
    }
    await assert.rejects(createSelfSignedCertificate({ days: 0 }), /days must be a whole number/);
    await assert.rejects(createSelfSignedCertificate({ days: 1.5 }), /days must be a whole number/);
  });
});

describe("der-writer", () => {
  it("writes OIDs that read back, UTCTime before 2050 and GeneralizedTime from 2050, sorted SETs", () => {
    for (const oid of ["1.2.840.10045.4.3.2", "2.5.29.17", "1.3.6.1.5.5.7.3.1", "2.999.3"]) {
      const element = readTlv(der.objectIdentifier(oid), 0);
      assert.equal(element.tag, Tag.ObjectIdentifier);
      assert.equal(oidToString(element.value), oid);
    }
    assert.deepEqual(der.time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59))), new Uint8Array([0x17, 13, ...Buffer.from("491231235959Z")]));
    assert.deepEqual(der.time(new Date(Date.UTC(2050, 0, 1))), new Uint8Array([0x18, 15, ...Buffer.from("20500101000000Z")]));
    assert.deepEqual(der.set([der.integer(2), der.integer(1)]), new Uint8Array([0x31, 6, 2, 1, 1, 2, 1, 2]));
    assert.deepEqual(der.integer(128), new Uint8Array([2, 2, 0, 128]));
    assert.deepEqual(der.namedBits([0, 5]), new Uint8Array([3, 2, 2, 0x84]));
    const long = der.octetString(new Uint8Array(70_000));
    assert.deepEqual(long.subarray(0, 5), new Uint8Array([4, 0x83, 0x01, 0x11, 0x70]));
    assert.equal(readTlv(long, 0).value.length, 70_000);
  });
});

describe("loadTlsCredentials", () => {
  interface KeyCase {
    name: string;
    /** openssl arguments that write the key to key-<name>.pem (the output file is appended). */
    make: string[];
    label: RegExp;
    schemes: number[];
  }
  const cases: KeyCase[] = [
    {
      name: "p256-pkcs8",
      make: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"],
      label: /BEGIN PRIVATE KEY/,
      schemes: [SignatureScheme.ecdsa_secp256r1_sha256],
    },
    {
      name: "p256-sec1",
      make: ["ecparam", "-name", "prime256v1", "-genkey", "-out"],
      label: /BEGIN EC PARAMETERS[\s\S]*BEGIN EC PRIVATE KEY/,
      schemes: [SignatureScheme.ecdsa_secp256r1_sha256],
    },
    {
      name: "p384-sec1",
      make: ["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out"],
      label: /BEGIN EC PRIVATE KEY/,
      schemes: [SignatureScheme.ecdsa_secp384r1_sha384],
    },
    {
      name: "p384-pkcs8",
      make: ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out"],
      label: /BEGIN PRIVATE KEY/,
      schemes: [SignatureScheme.ecdsa_secp384r1_sha384],
    },
    { name: "ed25519", make: ["genpkey", "-algorithm", "ed25519", "-out"], label: /BEGIN PRIVATE KEY/, schemes: [SignatureScheme.ed25519] },
    {
      name: "rsa-pkcs1",
      make: ["genrsa", "-traditional", "-out"],
      label: /BEGIN RSA PRIVATE KEY/,
      schemes: [SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_rsae_sha512],
    },
    {
      name: "rsa-pkcs8",
      make: ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"],
      label: /BEGIN PRIVATE KEY/,
      schemes: [SignatureScheme.rsa_pss_rsae_sha256, SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_rsae_sha512],
    },
  ];
  const hashOf: Record<number, string> = {
    [SignatureScheme.ecdsa_secp256r1_sha256]: "-sha256",
    [SignatureScheme.ecdsa_secp384r1_sha384]: "-sha384",
    [SignatureScheme.rsa_pss_rsae_sha256]: "-sha256",
    [SignatureScheme.rsa_pss_rsae_sha384]: "-sha384",
    [SignatureScheme.rsa_pss_rsae_sha512]: "-sha512",
  };

  before(async () => {
    for (const { name, make } of cases) {
      await ok("openssl", [...make, `key-${name}.pem`], dir);
      await ok(
        "openssl",
        ["req", "-x509", "-new", "-key", `key-${name}.pem`, "-subj", `/CN=${name}`, "-days", "1", "-out", `cert-${name}.pem`],
        dir,
      );
      await ok("openssl", ["pkey", "-in", `key-${name}.pem`, "-pubout", "-out", `pub-${name}.pem`], dir);
    }
  });

  for (const testCase of cases) {
    it(`${testCase.name}: offers ${testCase.schemes.map((s) => `0x${s.toString(16).padStart(4, "0")}`).join(", ")}, and openssl verifies what it signs`, async () => {
      const { name } = testCase;
      const keyText = await readFile(join(dir, `key-${name}.pem`), "utf8");
      assert.match(keyText, testCase.label, "openssl wrote the key in the format under test");
      const certBytes = await readFile(join(dir, `cert-${name}.pem`));
      const credentials = await loadTlsCredentials({ cert: new Uint8Array(certBytes), key: keyText, certName: "c.pem", keyName: "k.pem" });
      assert.deepEqual(credentials.signatureSchemes, testCase.schemes);
      assert.equal(credentials.certificates.length, 1);
      assert.deepEqual(credentials.certificates[0], pemDer(certBytes.toString()));
      const data = certificateVerifyContent();
      await writeFile(join(dir, "data.bin"), data);
      for (const scheme of credentials.signatureSchemes) {
        const signature = await credentials.sign(scheme, data);
        await writeFile(join(dir, "sig.bin"), signature);
        const pub = `pub-${name}.pem`;
        let verify: string[];
        if (scheme === SignatureScheme.ed25519) {
          assert.equal(signature.length, 64);
          verify = ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", "data.bin", "-sigfile", "sig.bin"];
        } else if (testCase.name.startsWith("rsa")) {
          const options = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"];
          verify = ["dgst", hashOf[scheme]!, ...options, "-verify", pub, "-signature", "sig.bin", "data.bin"];
        } else {
          assert.equal(signature[0], 0x30, "ECDSA signatures are DER");
          verify = ["dgst", hashOf[scheme]!, "-verify", pub, "-signature", "sig.bin", "data.bin"];
        }
        const result = await run("openssl", verify, dir);
        assert.equal(result.code, 0, `scheme 0x${scheme.toString(16)}: ${result.stdout}${result.stderr}`);
        assert.match(result.stdout, /Verified OK|Signature Verified Successfully/);
      }
      // A scheme outside the list is refused, naming the key file.
      const other = testCase.schemes.includes(SignatureScheme.ed25519) ? SignatureScheme.ecdsa_secp256r1_sha256 : SignatureScheme.ed25519;
      await assert.rejects(
        credentials.sign(other, data),
        /^Error: k\.pem: signature scheme 0x0[48]0[37] is not one this .* key signs with/,
      );
    });
  }

  it("RSA-PSS uses a salt as long as the hash: a verifier that insists on that length accepts, one that wants another refuses", async () => {
    const credentials = await loadTlsCredentials({
      cert: await readFile(join(dir, "cert-rsa-pkcs8.pem"), "utf8"),
      key: await readFile(join(dir, "key-rsa-pkcs8.pem"), "utf8"),
    });
    const data = certificateVerifyContent();
    await writeFile(join(dir, "data.bin"), data);
    await writeFile(join(dir, "sig.bin"), await credentials.sign(SignatureScheme.rsa_pss_rsae_sha384, data));
    const verify = (salt: string) =>
      run(
        "openssl",
        [
          "dgst",
          "-sha384",
          "-sigopt",
          "rsa_padding_mode:pss",
          "-sigopt",
          `rsa_pss_saltlen:${salt}`,
          "-verify",
          "pub-rsa-pkcs8.pem",
          "-signature",
          "sig.bin",
          "data.bin",
        ],
        dir,
      );
    assert.equal((await verify("48")).code, 0);
    assert.notEqual((await verify("32")).code, 0);
  });

  it("the generated certificate and key load, with the chain in order and DER input taken as it is", async () => {
    const made = await createSelfSignedCertificate({ hosts: ["leaf.test"] });
    const other = await createSelfSignedCertificate({ hosts: ["second.test"] });
    const chain = made.certificatePem + other.certificatePem;
    const credentials = await loadTlsCredentials({ cert: chain, key: made.privateKeyPem });
    assert.deepEqual(credentials.signatureSchemes, [SignatureScheme.ecdsa_secp256r1_sha256]);
    assert.deepEqual(credentials.certificates, [made.certificate, other.certificate]);
    const fromDer = await loadTlsCredentials({ cert: made.certificate, key: pemDer(made.privateKeyPem) });
    assert.deepEqual(fromDer.certificates, [made.certificate]);
    // Its signature verifies with the certificate's key in Web Crypto, once DER becomes r||s.
    const data = certificateVerifyContent();
    const signature = await fromDer.sign(SignatureScheme.ecdsa_secp256r1_sha256, data);
    const publicKey = await crypto.subtle.importKey(
      "spki",
      pemDer(await publicKeyPem(made.certificatePem)) as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const raw = ecdsaDerToRaw(signature) as Uint8Array<ArrayBuffer>;
    assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, publicKey, raw, data as Uint8Array<ArrayBuffer>));
  });

  describe("errors name the file and the rule", () => {
    let certPem: string;
    let keyPem: string;
    before(async () => {
      certPem = await readFile(join(dir, "cert-p256-pkcs8.pem"), "utf8");
      keyPem = await readFile(join(dir, "key-p256-pkcs8.pem"), "utf8");
    });
    const names = { certName: "cert.pem", keyName: "key.pem" };
    const load = (cert: string | Uint8Array, key: string | Uint8Array) => loadTlsCredentials({ cert, key, ...names });
    const makeKey = async (file: string, ...args: string[]) => {
      await ok("openssl", [args[0]!, "-out", file, ...args.slice(1)], dir);
      return readFile(join(dir, file), "utf8");
    };

    it("a key file that is not a PEM private key", async () => {
      await assert.rejects(load(certPem, "hello\n"), {
        message: 'key.pem: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----")',
      });
      await assert.rejects(load(certPem, certPem), {
        message: 'key.pem: not a PEM private key (expected "-----BEGIN PRIVATE KEY-----"); it holds CERTIFICATE',
      });
      const publicKey = await readFile(join(dir, "pub-p256-pkcs8.pem"), "utf8");
      await assert.rejects(load(certPem, publicKey), /^Error: key\.pem: not a PEM private key .*; it holds PUBLIC KEY$/);
      await assert.rejects(loadTlsCredentials({ cert: certPem, key: "" }), /^Error: key: not a PEM private key/);
    });

    it("a cert file without a certificate, or with a broken one", async () => {
      await assert.rejects(load(keyPem, keyPem), { message: 'cert.pem: no CERTIFICATE block (expected "-----BEGIN CERTIFICATE-----")' });
      await assert.rejects(loadTlsCredentials({ cert: "", key: keyPem }), /^Error: cert: no CERTIFICATE block/);
      const garbage = `-----BEGIN CERTIFICATE-----\n${Buffer.from([0x30, 3, 2, 1, 1]).toString("base64")}\n-----END CERTIFICATE-----\n`;
      await assert.rejects(load(garbage, keyPem), /^Error: cert\.pem: the certificate is not a DER X\.509 certificate \(/);
      await assert.rejects(load("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", keyPem), {
        message: "cert.pem: the certificate is not valid base64",
      });
      await assert.rejects(load(certPem + garbage, keyPem), /^Error: cert\.pem: certificate 2 is not a DER X\.509 certificate/);
    });

    it("limits: a certificate over 64 KiB, a chain over 10", async () => {
      const huge = `-----BEGIN CERTIFICATE-----\n${Buffer.alloc(65 * 1024, 0x30).toString("base64")}\n-----END CERTIFICATE-----\n`;
      await assert.rejects(load(huge, keyPem), { message: "cert.pem: the certificate is larger than 64 KiB" });
      await assert.rejects(load(certPem.repeat(11), keyPem), { message: "cert.pem: 11 certificates, more than a chain of 10 holds" });
      const ten = await load(certPem.repeat(10), keyPem);
      assert.equal(ten.certificates.length, 10);
    });

    it("encrypted keys, PKCS#8 and old-style", async () => {
      const encrypted = await makeKey("enc.pem", "pkcs8", "-topk8", "-in", "key-p256-pkcs8.pem", "-passout", "pass:secret");
      assert.match(encrypted, /BEGIN ENCRYPTED PRIVATE KEY/);
      await assert.rejects(
        load(certPem, encrypted),
        /^Error: key\.pem: the private key is encrypted, which is not supported; decrypt it: openssl pkey/,
      );
      const oldStyle = await makeKey("enc-sec1.pem", "ec", "-in", "key-p256-sec1.pem", "-aes128", "-passout", "pass:secret");
      assert.match(oldStyle, /Proc-Type: 4,ENCRYPTED/);
      await assert.rejects(load(certPem, oldStyle), /^Error: key\.pem: the private key is encrypted/);
    });

    it("unsupported key types: DSA, X25519, P-521, Ed448, RSA under 2048 bits", async () => {
      await ok(
        "openssl",
        ["genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:1024", "-out", "dsa-params.pem"],
        dir,
      );
      const dsa = await makeKey("dsa.pem", "genpkey", "-paramfile", "dsa-params.pem");
      await assert.rejects(load(certPem, dsa), {
        message: "key.pem: unsupported key type (DSA); supported: EC P-256, EC P-384, Ed25519, RSA",
      });
      const x25519 = await makeKey("x25519.pem", "genpkey", "-algorithm", "X25519");
      await assert.rejects(
        load(certPem, x25519),
        /^Error: key\.pem: unsupported key type \(X25519, a key-agreement key that cannot sign\)/,
      );
      const p521 = await makeKey("p521.pem", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521");
      await assert.rejects(load(certPem, p521), /^Error: key\.pem: unsupported key type \(EC P-521\)/);
      const p521Sec1 = await makeKey("p521-sec1.pem", "ecparam", "-name", "secp521r1", "-genkey", "-noout");
      await assert.rejects(load(certPem, p521Sec1), /^Error: key\.pem: unsupported key type \(EC P-521\)/);
      const ed448 = await makeKey("ed448.pem", "genpkey", "-algorithm", "ed448");
      await assert.rejects(load(certPem, ed448), /^Error: key\.pem: unsupported key type \(Ed448\)/);
      const small = await makeKey("rsa1024.pem", "genrsa", "1024");
      await ok("openssl", ["req", "-x509", "-new", "-key", "rsa1024.pem", "-subj", "/CN=small", "-days", "1", "-out", "rsa1024.crt"], dir);
      await assert.rejects(load(await readFile(join(dir, "rsa1024.crt"), "utf8"), small), {
        message: "key.pem: RSA key of 1024 bits is too small (at least 2048)",
      });
    });

    it("SEC1 keys: without curve parameters the curve comes from the key's length; explicit parameters are refused", async () => {
      const certP384 = await readFile(join(dir, "cert-p384-sec1.pem"), "utf8");
      const sec1 = pemDer(await readFile(join(dir, "key-p384-sec1.pem"), "utf8"));
      const contents = readTlv(sec1, 0).value;
      const fields = readChildren(contents).filter((field) => field.tag !== 0xa0); // [0] parameters dropped
      const bare = der.sequence(fields.map((field) => contents.subarray(field.start, field.end)));
      const barePem = `-----BEGIN EC PRIVATE KEY-----\n${Buffer.from(bare).toString("base64")}\n-----END EC PRIVATE KEY-----\n`;
      const credentials = await load(certP384, barePem);
      assert.deepEqual(credentials.signatureSchemes, [SignatureScheme.ecdsa_secp384r1_sha384]);
      const explicit = await makeKey("explicit.pem", "ec", "-in", "key-p256-sec1.pem", "-param_enc", "explicit");
      assert.match(explicit, /BEGIN EC PRIVATE KEY/);
      await assert.rejects(load(certPem, explicit), /^Error: key\.pem: malformed EC PRIVATE KEY \(.*explicit curve parameters/);
      const openssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
      await assert.rejects(load(certPem, openssh), /^Error: key\.pem: an OpenSSH private key, which is not supported/);
    });

    it("a key that is not the certificate's", async () => {
      const otherP256 = await readFile(join(dir, "key-p256-sec1.pem"), "utf8");
      await assert.rejects(load(certPem, otherP256), {
        message: "key.pem does not match the certificate in cert.pem (a different EC P-256 public key)",
      });
      const ed25519 = await readFile(join(dir, "key-ed25519.pem"), "utf8");
      await assert.rejects(load(certPem, ed25519), {
        message: "key.pem does not match the certificate in cert.pem (the key is Ed25519, the certificate's key is EC P-256)",
      });
      const rsaCert = await readFile(join(dir, "cert-rsa-pkcs1.pem"), "utf8");
      const otherRsa = await readFile(join(dir, "key-rsa-pkcs8.pem"), "utf8");
      await assert.rejects(
        load(rsaCert, otherRsa),
        /^Error: key\.pem does not match the certificate in cert\.pem \(a different RSA public key\)$/,
      );
      // Only the leaf counts: the right key for the second certificate is still the wrong one.
      await assert.rejects(load(certPem + rsaCert, otherRsa), /^Error: key\.pem does not match the certificate in cert\.pem/);
    });
  });
});

async function publicKeyPem(certificatePem: string): Promise<string> {
  const path = join(dir, "pk-cert.pem");
  await writeFile(path, certificatePem);
  return ok("openssl", ["x509", "-in", path, "-noout", "-pubkey"], dir);
}

describe("browser-httpd cert", () => {
  it("writes cert.pem and key.pem (mode 0600), prints the paths, names and SPKI hash, refuses to overwrite without --force", async () => {
    const out = join(dir, "cli", "certs");
    const result = await runCli(["cert", "--out", out]);
    assert.equal(result.code, 0, result.stderr);
    const certPath = join(out, "cert.pem");
    const keyPath = join(out, "key.pem");
    assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
    const certPem = await readFile(certPath, "utf8");
    const keyPem = await readFile(keyPath, "utf8");
    const spki = await spkiSha256Base64(pemDer(certPem));
    assert.ok(result.stdout.includes(certPath) && result.stdout.includes(keyPath), result.stdout);
    assert.match(result.stdout, /localhost, 127\.0\.0\.1, ::1/);
    assert.ok(result.stdout.includes(`--ignore-certificate-errors-spki-list=${spki}`), result.stdout);
    await loadTlsCredentials({ cert: certPem, key: keyPem });

    const again = await runCli(["cert", "--out", out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /key\.pem already exists; not overwriting it \(--force replaces it\)/);
    assert.equal(await readFile(certPath, "utf8"), certPem);
    assert.equal(await readFile(keyPath, "utf8"), keyPem);

    const forced = await runCli(["cert", "--out", out, "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(await readFile(keyPath, "utf8"), keyPem);
    assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
  });

  it("--host sets the names (the first is the common name), --days the validity; bad input is refused", async () => {
    const out = join(dir, "cli-hosts");
    const result = await runCli(["cert", "--out", out, "--host", "app.test", "--host", "10.9.8.7", "--host", "2001:db8::2", "--days", "3"]);
    assert.equal(result.code, 0, result.stderr);
    const text = await ok("openssl", ["x509", "-in", join(out, "cert.pem"), "-noout", "-text"], dir);
    assert.match(text, /Subject: CN ?= ?app\.test\n/);
    assert.match(text, /DNS:app\.test, IP Address:10\.9\.8\.7, IP Address:2001:DB8:0:0:0:0:0:2\n/);
    assert.doesNotMatch(text, /localhost/);
    assert.equal((await run("openssl", ["x509", "-in", join(out, "cert.pem"), "-noout", "-checkend", String(2 * 86_400)], dir)).code, 0);
    assert.equal((await run("openssl", ["x509", "-in", join(out, "cert.pem"), "-noout", "-checkend", String(4 * 86_400)], dir)).code, 1);

    const badHost = await runCli(["cert", "--out", join(dir, "cli-bad"), "--host", "not a host"]);
    assert.equal(badHost.code, 1);
    assert.match(badHost.stderr, /"not a host" is not a valid host name/);
    const badDays = await runCli(["cert", "--out", join(dir, "cli-bad"), "--days", "soon"]);
    assert.equal(badDays.code, 1);
    assert.match(badDays.stderr, /--days must be a whole number/);
    const noOut = await runCli(["cert"]);
    assert.equal(noOut.code, 1);
    assert.match(noOut.stderr, /--out DIR is required/);
  });
});
