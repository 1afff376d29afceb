/**
 * RFC 8448's "Simple 1-RTT Handshake" reproduced byte for byte: the key schedule, the server's messages and its
 * protected flight, the client's Finished and first application record; then the same ClientHello driven through a
 * TlsServerConnection with the RFC's random and key share.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { TLS_AES_128_GCM_SHA256 } from "../src/tls/cipher-suite.js";
import { parseClientHello } from "../src/tls/client-hello.js";
import { x25519KeyShareFromPrivateKey } from "../src/tls/key-exchange.js";
import { applicationSecrets, digest, finishedVerifyData, handshakeSecrets } from "../src/tls/key-schedule.js";
import * as messages from "../src/tls/messages.js";
import { negotiate } from "../src/tls/negotiate.js";
import { ContentType, RecordCipher } from "../src/tls/record-cipher.js";
import { TlsServerConnection } from "../src/tls/server-connection.js";
import { type TlsPrimitives, webCryptoPrimitives } from "../src/tls/primitives.js";
import { nodePrimitives } from "../src/tls/node-primitives.js";
import { concatAll } from "../src/shared/bytes.js";
import * as rfc from "./fixtures/rfc8448.js";
import { memorySocket } from "./fixtures/tls/memory-socket.js";

const suite = TLS_AES_128_GCM_SHA256;
const RSA_PSS_RSAE_SHA256 = 0x0804;
const signature = rfc.certificateVerify.subarray(8);
const certificateDer = rfc.certificate.subarray(4 + 1 + 3 + 3, rfc.certificate.length - 2);
/** The vectors hold for both sets of primitives: Web Crypto's, and node:crypto's that serve() uses on Node. */
const PRIMITIVES: TlsPrimitives[] = [webCryptoPrimitives, nodePrimitives];

const hash = (p: TlsPrimitives, ...pieces: Uint8Array[]) => digest(p, suite, concatAll(pieces));

test("the x25519 exchange gives the RFC's shared secret", async () => {
  const server = await x25519KeyShareFromPrivateKey(rfc.serverPrivateKey);
  assert.deepEqual(server.publicKey, rfc.serverPublicKey);
  const clientShare = parseClientHello(rfc.clientHello.subarray(4)).keyShares![0]!;
  assert.deepEqual(await server.sharedSecret(clientShare.keyExchange), rfc.sharedSecret);
  const client = await x25519KeyShareFromPrivateKey(rfc.clientPrivateKey);
  assert.deepEqual(client.publicKey, clientShare.keyExchange);
});

for (const p of PRIMITIVES) {
  test(`${p.name}: the key schedule gives the RFC's traffic secrets and Finished values`, async () => {
    const secrets = await handshakeSecrets(p, suite, rfc.sharedSecret, await hash(p, rfc.clientHello, rfc.serverHello));
    assert.deepEqual(secrets.clientHandshakeTrafficSecret, rfc.clientHandshakeTrafficSecret);
    assert.deepEqual(secrets.serverHandshakeTrafficSecret, rfc.serverHandshakeTrafficSecret);
    const throughVerify = await hash(p, rfc.clientHello, rfc.serverHello, rfc.encryptedExtensions, rfc.certificate, rfc.certificateVerify);
    assert.deepEqual(
      await finishedVerifyData(p, suite, secrets.serverHandshakeTrafficSecret, throughVerify),
      rfc.serverFinished.subarray(4),
    );
    const throughServerFinished = await hash(
      p,
      rfc.clientHello,
      rfc.serverHello,
      rfc.encryptedExtensions,
      rfc.certificate,
      rfc.certificateVerify,
      rfc.serverFinished,
    );
    assert.deepEqual(
      await finishedVerifyData(p, suite, secrets.clientHandshakeTrafficSecret, throughServerFinished),
      rfc.clientFinished.subarray(4),
    );
    const application = await applicationSecrets(p, suite, secrets.handshakeSecret, throughServerFinished);
    assert.deepEqual(application.clientApplicationTrafficSecret, rfc.clientApplicationTrafficSecret);
    assert.deepEqual(application.serverApplicationTrafficSecret, rfc.serverApplicationTrafficSecret);
  });
}

test("the server's messages encode to the RFC's bytes", () => {
  assert.deepEqual(
    messages.serverHello({
      random: rfc.serverRandom,
      legacySessionId: new Uint8Array(0),
      cipherSuite: suite.code,
      keyShare: { group: 0x001d, publicKey: rfc.serverPublicKey },
    }),
    rfc.serverHello,
  );
  assert.deepEqual(
    messages.encryptedExtensions({ supportedGroups: rfc.serverSupportedGroups, recordSizeLimit: 0x4001, serverNameAcknowledged: true }),
    rfc.encryptedExtensions,
  );
  assert.deepEqual(messages.certificate([certificateDer]), rfc.certificate);
  assert.deepEqual(messages.certificateVerify(RSA_PSS_RSAE_SHA256, signature), rfc.certificateVerify);
});

for (const p of PRIMITIVES) {
  test(`${p.name}: record protection seals the server's flight and opens the client's records as the RFC shows`, async () => {
    const flight = concatAll([rfc.encryptedExtensions, rfc.certificate, rfc.certificateVerify, rfc.serverFinished]);
    const serverCipher = await RecordCipher.fromSecret(p, suite, rfc.serverHandshakeTrafficSecret);
    assert.deepEqual(await serverCipher.seal(ContentType.handshake, flight), rfc.serverFlightRecord);

    const clientHandshake = await RecordCipher.fromSecret(p, suite, rfc.clientHandshakeTrafficSecret);
    const finished = await clientHandshake.open(rfc.clientFinishedRecord.subarray(0, 5), rfc.clientFinishedRecord.subarray(5));
    assert.equal(finished.type, ContentType.handshake);
    assert.deepEqual(finished.content, rfc.clientFinished);

    const clientApplication = await RecordCipher.fromSecret(p, suite, rfc.clientApplicationTrafficSecret);
    const data = await clientApplication.open(rfc.clientApplicationRecord.subarray(0, 5), rfc.clientApplicationRecord.subarray(5));
    assert.equal(data.type, ContentType.application_data);
    assert.deepEqual(
      data.content,
      Uint8Array.from({ length: 50 }, (_, i) => i),
    );

    const tampered = rfc.clientApplicationRecord.slice();
    tampered[20]! ^= 1;
    const again = await RecordCipher.fromSecret(p, suite, rfc.clientApplicationTrafficSecret);
    await assert.rejects(again.open(tampered.subarray(0, 5), tampered.subarray(5)), /bad_record_mac/);
  });
}

test("the RFC's ClientHello negotiates its suite, group and scheme", () => {
  const hello = parseClientHello(rfc.clientHello.subarray(4));
  assert.equal(hello.serverName, "server");
  assert.equal(hello.recordSizeLimit, 0x4001);
  const negotiated = negotiate(hello, {
    cipherSuites: [suite],
    groups: [0x001d, 0x0017],
    signatureSchemes: [0x0403, RSA_PSS_RSAE_SHA256],
    alpnProtocols: [],
  });
  assert.equal(negotiated.suite, suite);
  assert.equal(negotiated.group, 0x001d);
  assert.equal(negotiated.signatureScheme, 0x0403);
});

for (const p of PRIMITIVES) {
  test(`${p.name}: a TlsServerConnection answers the RFC's ClientHello with the RFC's ServerHello and a flight under its keys`, async () => {
    const socket = memorySocket();
    const connection = new TlsServerConnection(socket.io, {
      credentials: { certificates: [certificateDer], signatureSchemes: [RSA_PSS_RSAE_SHA256], sign: async () => signature },
      cipherSuites: [suite],
      primitives: p,
      random: () => rfc.serverRandom,
      keyShare: () => x25519KeyShareFromPrivateKey(rfc.serverPrivateKey),
    });
    const handshake = connection.handshake();
    handshake.catch(() => {});
    socket.push(concatAll([Uint8Array.of(22, 3, 1, 0, rfc.clientHello.length), rfc.clientHello]));
    for (let i = 0; i < 100 && socket.written.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const output = concatAll(socket.written);
    const serverHelloRecord = concatAll([Uint8Array.of(22, 3, 3, 0, rfc.serverHello.length), rfc.serverHello]);
    assert.deepEqual(output.subarray(0, serverHelloRecord.length), serverHelloRecord);

    // The flight opens under the RFC's server handshake key: our EncryptedExtensions (no supported_groups), then the
    // RFC's Certificate and CertificateVerify, then a Finished over our own transcript.
    const flightRecord = output.subarray(serverHelloRecord.length);
    const opened = await (await RecordCipher.fromSecret(p, suite, rfc.serverHandshakeTrafficSecret)).open(
      flightRecord.subarray(0, 5),
      flightRecord.subarray(5),
    );
    const ours = messages.encryptedExtensions({ recordSizeLimit: 0x4001, serverNameAcknowledged: true });
    assert.deepEqual(opened.content.subarray(0, ours.length), ours);
    assert.deepEqual(
      opened.content.subarray(ours.length, ours.length + rfc.certificate.length + rfc.certificateVerify.length),
      concatAll([rfc.certificate, rfc.certificateVerify]),
    );
    const serverFinished = opened.content.subarray(ours.length + rfc.certificate.length + rfc.certificateVerify.length);
    const transcriptHash = await hash(p, rfc.clientHello, rfc.serverHello, ours, rfc.certificate, rfc.certificateVerify);
    assert.deepEqual(
      serverFinished,
      messages.finished(await finishedVerifyData(p, suite, rfc.serverHandshakeTrafficSecret, transcriptHash)),
    );

    // The RFC's client Finished covers the RFC's transcript, not this one: the server must refuse it.
    socket.push(rfc.clientFinishedRecord);
    await assert.rejects(handshake, /decrypt_error/);
  });
}
