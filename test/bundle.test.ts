/**
 * The bundle library against itself (write → read → verify), against the reference packages as oracles (`wbn`
 * parses our web bundles; `wbn-sign` signs byte-identically with Ed25519 and derives the same Web Bundle IDs;
 * each side verifies the other's signatures), against tampering of every byte, and against the manifest fixtures.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify as nodeVerify } from "node:crypto";
import { join } from "node:path";
import * as wbn from "wbn";
import * as wbnSign from "wbn-sign";
import {
  buildSignedWebBundle,
  checkManifest,
  exportPrivateKeyJwk,
  exportPrivateKeyPem,
  exportPublicKeyJwk,
  exportPublicKeyPem,
  generateSigningKey,
  importKey,
  importSigningKey,
  iwaContentSecurityPolicy,
  manifestRules,
  parseSignedWebBundle,
  signWebBundle,
  verifySignedWebBundle,
  webBundleIdOf,
  type KeyAlgorithm,
  type ManifestRule,
  type SigningKey,
} from "../src/bundle/index.js";
import { CborReader, encodeBytes, encodeMap, encodeText, encodeUnsigned } from "../src/bundle/cbor.js";
import { parseIntegrityBlock } from "../src/bundle/integrity-block.js";
import { signedData } from "../src/bundle/signing.js";
import { planWebBundle, parseWebBundle } from "../src/bundle/web-bundle.js";
import { fixtureFiles } from "./fixtures/bundle/harness.js";

const algorithms: KeyAlgorithm[] = ["ed25519", "ecdsa-p256"];

function wbnSigningStrategy(pem: string): wbnSign.NodeCryptoSigningStrategy {
  return new wbnSign.NodeCryptoSigningStrategy(wbnSign.parsePemKey(Buffer.from(pem)));
}

describe("bundle: build, read and verify", () => {
  for (const algorithm of algorithms) {
    it(`round-trips the fixture app signed with ${algorithm}`, async () => {
      const key = await generateSigningKey(algorithm);
      const files = await fixtureFiles("app");
      const built = await buildSignedWebBundle({ files, keys: [key] });
      const id = await webBundleIdOf(key);
      assert.equal(built.webBundleId, id);
      assert.equal(built.origin, `isolated-app://${id}/`);
      assert.equal(built.fileCount, files.length);

      const verified = await verifySignedWebBundle(built.bytes);
      assert.equal(verified.webBundleId, id);
      assert.equal(verified.primaryUrl, null);
      assert.deepEqual(
        verified.signatures.map((signature) => signature.algorithm),
        [algorithm],
      );
      for (const { path, body } of files) {
        const response = verified.responses.get(`${built.origin}${path.split("/").map(encodeURIComponent).join("/")}`);
        assert.ok(response, `${path} is in the bundle`);
        assert.equal(response.status, 200);
        assert.deepEqual(response.body, body);
        assert.equal(response.headers["cross-origin-opener-policy"], "same-origin");
        assert.equal(response.headers["cross-origin-embedder-policy"], "require-corp");
        assert.equal(response.headers["cross-origin-resource-policy"], "same-origin");
        assert.equal(response.headers["content-security-policy"], iwaContentSecurityPolicy);
      }
      assert.equal(verified.responses.get(built.origin)?.headers["content-type"], "text/html; charset=utf-8");
      assert.deepEqual(verified.responses.get(built.origin)?.body, verified.responses.get(`${built.origin}index.html`)?.body);
      assert.ok(verified.responses.has(`${built.origin}docs/`), "a folder's index.html is also at the folder");
      assert.equal(verified.responses.get(`${built.origin}app.js`)?.headers["content-type"], "text/javascript; charset=utf-8");
      assert.equal(
        verified.responses.get(`${built.origin}.well-known/manifest.webmanifest`)?.headers["content-type"],
        "application/manifest+json; charset=utf-8",
      );
      assert.equal(verified.responses.get(`${built.origin}icon.png`)?.headers["content-type"], "image/png");
      assert.deepEqual([...verified.responses.keys()].sort(), built.urls);
    });
  }

  it("signs with several keys of both types, each signature verified", async () => {
    const keys = [await generateSigningKey("ecdsa-p256"), await generateSigningKey("ed25519"), await generateSigningKey("ecdsa-p256")];
    const secondId = await webBundleIdOf(keys[1]!);
    const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys, webBundleId: secondId });
    const verified = await verifySignedWebBundle(built.bytes, secondId);
    assert.deepEqual(
      verified.signatures.map((signature) => signature.algorithm),
      ["ecdsa-p256", "ed25519", "ecdsa-p256"],
    );
    await assert.rejects(verifySignedWebBundle(built.bytes, await webBundleIdOf(keys[0]!)), /expected/);
    await assert.rejects(
      buildSignedWebBundle({ files: [], keys: [keys[0]!], webBundleId: secondId }),
      /does not belong to any of the signing keys/,
    );
  });

  it("applies --version to the bundled manifest and header overrides per file", async () => {
    const key = await generateSigningKey();
    const built = await buildSignedWebBundle({
      files: await fixtureFiles("app"),
      keys: [key],
      version: "2.5.0",
      headerOverrides: (path) =>
        path === "/app.js" ? { "Cache-Control": "no-store", "content-security-policy": "default-src 'none'" } : undefined,
    });
    const { responses } = parseSignedWebBundle(built.bytes);
    const manifest = JSON.parse(new TextDecoder().decode(responses.get(`${built.origin}.well-known/manifest.webmanifest`)!.body));
    assert.equal(manifest.version, "2.5.0");
    assert.equal(manifest.name, "Fixture App");
    assert.equal(responses.get(`${built.origin}app.js`)!.headers["cache-control"], "no-store");
    assert.equal(responses.get(`${built.origin}app.js`)!.headers["content-security-policy"], "default-src 'none'");
    assert.equal(responses.get(`${built.origin}index.html`)!.headers["cache-control"], undefined);
    await assert.rejects(
      buildSignedWebBundle({
        files: await fixtureFiles("app"),
        keys: [key],
        headerOverrides: { "Cross-Origin-Embedder-Policy": "unsafe-none" },
      }),
      /cross-origin-embedder-policy must be "require-corp"/,
    );
    await assert.rejects(buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [key], version: "01.0" }), /\[manifest-version\]/);
  });

  it("streams Blob bodies into place and refuses unsafe paths and duplicates", async () => {
    const key = await generateSigningKey();
    const files = (await fixtureFiles("app")).map(({ path, body }) => ({
      path: `/${path}`,
      body: new Blob([body as Uint8Array<ArrayBuffer>]),
    }));
    const built = await buildSignedWebBundle({ files, keys: [key] });
    const fromBytes = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [key] });
    assert.deepEqual(built.bytes, fromBytes.bytes, "Ed25519 output depends only on the contents");
    const lying = (size: number, contents: string) => ({ size, stream: () => new Blob([contents]).stream() });
    await assert.rejects(buildSignedWebBundle({ files: [{ path: "a.txt", body: lying(2, "abc") }], keys: [key] }), /a\.txt grew/);
    await assert.rejects(buildSignedWebBundle({ files: [{ path: "a.txt", body: lying(4, "abc") }], keys: [key] }), /a\.txt shrank/);
    await assert.rejects(buildSignedWebBundle({ files: [{ path: "a/../b", body: "" }], keys: [key] }), /"\.\." segment/);
    await assert.rejects(
      buildSignedWebBundle({
        files: [
          { path: "a", body: "" },
          { path: "/a", body: "x" },
        ],
        keys: [key],
      }),
      /appears twice/,
    );
  });
});

describe("bundle: the reference packages as oracles", () => {
  it("wbn parses our web bundle and finds every response", async () => {
    const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [await generateSigningKey()] });
    const ours = parseSignedWebBundle(built.bytes);
    const theirs = new wbn.Bundle(ours.webBundle as Buffer);
    assert.equal(theirs.version, "b2");
    assert.equal(theirs.primaryURL, null);
    assert.deepEqual([...theirs.urls].sort(), built.urls);
    for (const [url, response] of ours.responses) {
      const found = theirs.getResponse(url);
      assert.equal(found.status, response.status);
      assert.deepEqual(found.headers, response.headers);
      assert.deepEqual(new Uint8Array(found.body), response.body);
    }
  });

  it("our reader reads what wbn writes", async () => {
    const builder = new wbn.BundleBuilder("b2");
    builder.addExchange("isolated-app://x/", 200, { "Content-Type": "text/html" }, "<p>hi</p>");
    builder.addExchange("isolated-app://x/empty", 204, {}, "");
    const { responses, primaryUrl } = parseWebBundle(builder.createBundle());
    assert.equal(primaryUrl, null);
    assert.equal(new TextDecoder().decode(responses.get("isolated-app://x/")!.body), "<p>hi</p>");
    assert.equal(responses.get("isolated-app://x/")!.headers["content-type"], "text/html");
    assert.equal(responses.get("isolated-app://x/empty")!.status, 204);
  });

  it("over the same web bundle and Ed25519 key, our signed output is byte-identical to wbn-sign's", async () => {
    const key = await generateSigningKey("ed25519");
    const pem = await exportPrivateKeyPem(key);
    const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [key] });
    const { webBundle } = parseSignedWebBundle(built.bytes);
    const signer = new wbnSign.IntegrityBlockSigner(webBundle, built.webBundleId, [wbnSigningStrategy(pem)]);
    const theirs = await signer.sign();
    assert.deepEqual(new Uint8Array(theirs.signedWebBundle), built.bytes);

    // A bundle wbn wrote, signed by both with two keys, is identical too.
    const second = await generateSigningKey("ed25519");
    const builder = new wbn.BundleBuilder("b2");
    builder.addExchange(`${built.origin}`, 200, { "Content-Type": "text/plain" }, "reference");
    const referenceBundle = builder.createBundle();
    const both = await new wbnSign.IntegrityBlockSigner(referenceBundle, built.webBundleId, [
      wbnSigningStrategy(pem),
      wbnSigningStrategy(await exportPrivateKeyPem(second)),
    ]).sign();
    const ours = await signWebBundle(referenceBundle, [key, second]);
    assert.deepEqual(ours.integrityBlock, new Uint8Array(both.integrityBlock));
    await verifySignedWebBundle(new Uint8Array(both.signedWebBundle));
  });

  for (const algorithm of algorithms) {
    it(`wbn-sign derives the same Web Bundle ID for an ${algorithm} key, and each side verifies the other's signature`, async () => {
      const key = await generateSigningKey(algorithm);
      const pem = await exportPrivateKeyPem(key);
      const id = await webBundleIdOf(key);
      assert.equal(new wbnSign.WebBundleId(wbnSign.parsePemKey(Buffer.from(pem))).serialize(), id);

      const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [key] });
      const { webBundle } = parseSignedWebBundle(built.bytes);
      const theirs = await new wbnSign.IntegrityBlockSigner(webBundle, id, [wbnSigningStrategy(pem)]).sign();
      const verified = await verifySignedWebBundle(new Uint8Array(theirs.signedWebBundle));
      assert.equal(verified.webBundleId, id);
      assert.equal(wbnSign.getBundleId(built.bytes), id);

      // Our signature checked by node:crypto, as wbn-sign checks its own: DER for ECDSA, SHA-256 implied.
      const block = parseIntegrityBlock(built.bytes);
      const hash = createHash("sha512").update(webBundle).digest();
      const data = signedData(hash, block.unsignedCbor, block.signatures[0]!.attributesCbor);
      const publicKey = createPublicKey(createPrivateKey(pem));
      assert.equal(nodeVerify(algorithm === "ed25519" ? undefined : "sha256", data, publicKey, block.signatures[0]!.signature), true);
    });
  }
});

describe("bundle: tampering", () => {
  for (const algorithm of algorithms) {
    it(`every changed byte of a ${algorithm}-signed bundle makes verify fail`, async () => {
      const key = await generateSigningKey(algorithm);
      const built = await buildSignedWebBundle({
        files: [
          { path: "index.html", body: "<!doctype html><title>t</title>" },
          {
            path: ".well-known/manifest.webmanifest",
            body: JSON.stringify({
              name: "t",
              version: "1",
              start_url: "/",
              scope: "/",
              icons: [{ src: "/i.svg", sizes: "any" }],
              permissions_policy: { "cross-origin-isolated": ["self"] },
            }),
          },
          { path: "i.svg", body: "<svg xmlns='http://www.w3.org/2000/svg'/>" },
        ],
        keys: [key],
      });
      await verifySignedWebBundle(built.bytes);
      const tampered = new Uint8Array(built.bytes);
      const regions = { integrityBlock: 0, webBundle: 0 };
      for (let i = 0; i < tampered.length; i++) {
        tampered[i]! ^= 0x01;
        await assert.rejects(
          verifySignedWebBundle(tampered),
          (error: Error) => {
            assert.ok(!error.message.includes("\n"), `one-line message: ${error.message}`);
            return true;
          },
          `flipping byte ${i} is detected`,
        );
        tampered[i]! ^= 0x01;
        regions[i < built.integrityBlockLength ? "integrityBlock" : "webBundle"]++;
      }
      assert.ok(regions.integrityBlock > 100 && regions.webBundle > 1000);
      await assert.rejects(verifySignedWebBundle(built.bytes.subarray(0, built.bytes.length - 1)));
      await assert.rejects(verifySignedWebBundle(new Uint8Array([...built.bytes, 0])));
    });
  }

  it("names the failing part: a signature, the index, a response body", async () => {
    const key = await generateSigningKey();
    const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [key] });
    const bytes = new Uint8Array(built.bytes);
    const block = parseIntegrityBlock(bytes);
    const signature = block.signatures[0]!.signature;
    const signatureOffset = signature.byteOffset - bytes.byteOffset;
    const flipped = (offset: number) => {
      const copy = new Uint8Array(bytes);
      copy[offset]! ^= 0x80;
      return copy;
    };
    await assert.rejects(verifySignedWebBundle(flipped(signatureOffset + 10)), /^Error: signature 1 \(ed25519\) does not verify/);
    const body = parseSignedWebBundle(bytes).responses.get(`${built.origin}app.js`)!.body;
    await assert.rejects(verifySignedWebBundle(flipped(body.byteOffset - bytes.byteOffset)), /signature 1 \(ed25519\) does not verify/);
    const indexUrl = new TextEncoder().encode("app.js");
    const urlOffset = bytes.findIndex((_, i) => indexUrl.every((byte, j) => bytes[i + j] === byte));
    await assert.rejects(verifySignedWebBundle(flipped(urlOffset)), /does not verify/);
  });

  it("rejects malformed structures with one-line messages", async () => {
    await assert.rejects(verifySignedWebBundle(new Uint8Array([1, 2, 3])), /expected integrity block \(array\)/);
    const key = await generateSigningKey();
    const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [key] });
    const webBundle = parseSignedWebBundle(built.bytes).webBundle;
    await assert.rejects(verifySignedWebBundle(webBundle), /expected integrity block \(array\)|integrity block/);
    assert.throws(() => parseWebBundle(webBundle.subarray(0, webBundle.length - 9)), /web bundle/);
    // A bundle whose web bundle has a primary URL is not an IWA.
    const builder = new wbn.BundleBuilder("b2");
    builder.setPrimaryURL(built.origin);
    builder.addExchange(built.origin, 200, { "Content-Type": "text/plain" }, "x");
    const withPrimary = builder.createBundle();
    const { integrityBlock } = await signWebBundle(withPrimary, [key]);
    const signed = new Uint8Array([...integrityBlock, ...withPrimary]);
    await assert.rejects(verifySignedWebBundle(signed), /primary URL/);
    // URLs on another origin are refused.
    const foreign = new wbn.BundleBuilder("b2");
    foreign.addExchange("https://example.com/", 200, { "Content-Type": "text/plain" }, "x");
    const foreignBundle = foreign.createBundle();
    const foreignBlock = (await signWebBundle(foreignBundle, [key])).integrityBlock;
    await assert.rejects(verifySignedWebBundle(new Uint8Array([...foreignBlock, ...foreignBundle])), /is not a plain URL on isolated-app:/);
  });
});

describe("bundle: hostile input", () => {
  it("parsing mutated or truncated bundles throws an Error or succeeds, never anything else", async () => {
    const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [await generateSigningKey()] });
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const attempt = (bytes: Uint8Array) => {
      try {
        parseSignedWebBundle(bytes);
      } catch (error) {
        assert.ok(error instanceof Error, `threw ${String(error)}`);
        assert.ok(!error.message.includes("\n"));
      }
    };
    for (let round = 0; round < 3000; round++) {
      const bytes = new Uint8Array(built.bytes);
      for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--)
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      attempt(bytes);
    }
    for (let length = 0; length < built.bytes.length; length += 7) attempt(built.bytes.subarray(0, length));
  });
});

describe("bundle: CBOR and layout", () => {
  it("writes heads at every size boundary the way the reader and wbn read them", () => {
    for (const value of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const reader = new CborReader(encodeUnsigned(value), 0, true);
      assert.equal(reader.readUnsigned("n"), value);
      assert.ok(reader.atEnd);
    }
    assert.throws(() => new CborReader(new Uint8Array([0x18, 0x05]), 0, true).readUnsigned("n"), /shortest/);
    assert.throws(() => new CborReader(new Uint8Array([0x5f]), 0, true).readBytes("b"), /indefinite/);
    const map = encodeMap([
      [encodeText("bb"), encodeUnsigned(1)],
      [encodeText("a"), encodeUnsigned(2)],
      [encodeText("c"), encodeBytes(new Uint8Array(3))],
    ]);
    assert.deepEqual([...map.subarray(0, 3)], [0xa3, 0x61, 0x61], "shorter keys first, then bytewise");
    assert.throws(
      () =>
        encodeMap([
          [encodeText("a"), encodeUnsigned(1)],
          [encodeText("a"), encodeUnsigned(2)],
        ]),
      /duplicate/,
    );
  });

  it("lays out bodies whose lengths cross CBOR head sizes", () => {
    const lengths = [0, 23, 24, 255, 256, 65535, 65536, 70000];
    const exchanges = lengths.map((bodyLength, i) => ({
      urls: [`isolated-app://x/${i}`],
      status: 200,
      headers: { "content-type": "application/octet-stream" },
      bodyLength,
    }));
    const plan = planWebBundle(exchanges);
    const target = new Uint8Array(plan.length);
    const offsets = plan.writeFraming(target);
    offsets.forEach((offset, i) => {
      target.fill(i + 1, offset, offset + lengths[i]!);
    });
    const parsed = parseWebBundle(target);
    lengths.forEach((length, i) => {
      const body = parsed.responses.get(`isolated-app://x/${i}`)!.body;
      assert.equal(body.length, length);
      assert.ok(body.every((byte) => byte === i + 1));
    });
    const theirs = new wbn.Bundle(target as Buffer);
    assert.equal(theirs.getResponse("isolated-app://x/7").body.length, 70000);
  });
});

describe("bundle: keys", () => {
  for (const algorithm of algorithms) {
    it(`exports and re-imports ${algorithm} keys as PEM and JWK with the same ID`, async () => {
      const key = await generateSigningKey(algorithm);
      const id = await webBundleIdOf(key);
      const forms = [
        await exportPrivateKeyPem(key),
        JSON.stringify(await exportPrivateKeyJwk(key)),
        await exportPublicKeyPem(key),
        JSON.stringify(await exportPublicKeyJwk(key)),
      ];
      for (const text of forms) {
        const imported = await importKey(text);
        assert.equal(imported.algorithm, algorithm);
        assert.equal(await webBundleIdOf(imported), id);
      }
      const fromPem: SigningKey = await importSigningKey(forms[0]!);
      const built = await buildSignedWebBundle({ files: await fixtureFiles("app"), keys: [fromPem] });
      assert.equal(built.webBundleId, id);
      await assert.rejects(importSigningKey(forms[2]!), /only a public key/);
    });
  }

  it("imports keys made by OpenSSL (node:crypto): PKCS#8, SEC1 EC PRIVATE KEY, SPKI; refuses others clearly", async () => {
    const ed = generateKeyPairSync("ed25519");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const edPem = ed.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const ecSec1 = ec.privateKey.export({ type: "sec1", format: "pem" }) as string;
    const expectedEd = new wbnSign.WebBundleId(ed.privateKey).serialize();
    const expectedEc = new wbnSign.WebBundleId(ec.privateKey).serialize();
    assert.equal(await webBundleIdOf(await importSigningKey(edPem)), expectedEd);
    assert.equal(await webBundleIdOf(await importSigningKey(ecSec1)), expectedEc);
    // `openssl ecparam -genkey` writes the curve in its own block first.
    const withParameters = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${ecSec1}`;
    assert.equal(await webBundleIdOf(await importSigningKey(withParameters)), expectedEc);
    assert.equal(await webBundleIdOf(await importKey(ec.publicKey.export({ type: "spki", format: "pem" }) as string)), expectedEc);

    const encrypted = ed.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "secret" }) as string;
    await assert.rejects(importKey(encrypted), /encrypted private keys are not supported/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    await assert.rejects(importKey(rsa), /only Ed25519 and ECDSA P-256/);
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    await assert.rejects(importKey(p384), /only Ed25519 and ECDSA P-256/);
    await assert.rejects(importKey("hello"), /neither a JWK nor PEM/);
    await assert.rejects(importKey("{nope"), /not valid JSON/);
  });
});

describe("bundle: manifest rules", () => {
  it("the fixture app passes every rule", async () => {
    const files = new Map((await fixtureFiles("app")).map(({ path, body }) => [`/${path}`, body as Uint8Array]));
    assert.deepEqual(checkManifest(files), []);
  });

  it("asks for direct-sockets only when a script names a Direct Sockets API as a whole identifier", async () => {
    const files = new Map(
      (await fixtureFiles(join("manifest", "permissions-policy-direct-sockets"))).map(({ path, body }) => [`/${path}`, body as Uint8Array]),
    );
    const rulesWith = (script: string) =>
      checkManifest(new Map([...files, ["/app.js", new TextEncoder().encode(script)]])).map((problem) => problem.rule);
    assert.deepEqual(rulesWith("const myTCPSocketish = 1; // UDPSockets"), []);
    assert.deepEqual(rulesWith("new UDPSocket({})"), ["permissions-policy-direct-sockets"]);
    assert.deepEqual(rulesWith("globalThis.TCPSocket"), ["permissions-policy-direct-sockets"]);
    assert.deepEqual(rulesWith("TCPServerSocket"), ["permissions-policy-direct-sockets"]);
  });

  for (const rule of Object.keys(manifestRules) as ManifestRule[]) {
    it(`fixture manifest/${rule} fails that rule, and only it, before anything is signed`, async () => {
      const files = await fixtureFiles(join("manifest", rule));
      const problems = checkManifest(new Map(files.map(({ path, body }) => [`/${path}`, body as Uint8Array])));
      assert.deepEqual(
        problems.map((problem) => problem.rule),
        [rule],
      );
      await assert.rejects(buildSignedWebBundle({ files, keys: [await generateSigningKey()] }), (error: Error) => {
        assert.match(error.message, new RegExp(`^\\[${rule}\\] `));
        return true;
      });
    });
  }
});
