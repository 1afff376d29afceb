/**
 * One TLS 1.3 server connection (RFC 8446) over a socket's reader and writer: the handshake, then a plaintext
 * reader and writer of the same shape for the protocol above. Every malformed or unexpected input ends in an alert
 * and a closed connection; nothing escapes as an unhandled exception.
 */

import { concatAll } from "../shared/bytes.js";
import type { ByteReader, ByteWriter, DirectIo } from "../sockets/direct-io.js";
import { AlertDescription, TlsAlertError, TlsPeerAlertError } from "./alert.js";
import { CIPHER_SUITES, type CipherSuite } from "./cipher-suite.js";
import { type ClientHello, parseClientHello } from "./client-hello.js";
import type { TlsCredentials } from "./credentials.js";
import { generateKeyShare, type KeyShare, SUPPORTED_GROUPS } from "./key-exchange.js";
import { applicationSecrets, digest, finishedVerifyData, handshakeSecrets, nextTrafficSecret } from "./key-schedule.js";
import {
  certificate,
  certificateVerify,
  certificateVerifyInput,
  encryptedExtensions,
  finished,
  HandshakeType,
  helloRetryRequest,
  KeyUpdateRequest,
  keyUpdate,
  messageHash,
  serverHello,
} from "./messages.js";
import { type Negotiated, negotiate } from "./negotiate.js";
import { type TlsPrimitives, webCryptoPrimitives } from "./primitives.js";
import { ContentType, MAX_PLAINTEXT, RecordCipher } from "./record-cipher.js";
import { RecordReader, type TlsRecord } from "./record-reader.js";

export interface TlsServerOptions {
  credentials: TlsCredentials;
  /** ALPN protocols in the server's order of preference; empty or absent: no ALPN. */
  alpnProtocols?: readonly string[];
  cipherSuites?: readonly CipherSuite[];
  groups?: readonly number[];
  /** Largest handshake message accepted from the client (default 64 KiB). */
  maxHandshakeMessageSize?: number;
  /**
   * Records sent under one key before the server moves to the next with a KeyUpdate (default 2^24: RFC 8446 §5.5
   * allows AES-GCM about 2^24.5 full-size records per key).
   */
  keyUpdateAfterRecords?: number;
  /** HMAC, hashes and AES-GCM: Web Crypto by default; node:crypto's on Node (`nodeCryptoPrimitives()`) are faster. */
  primitives?: TlsPrimitives;
  /** Test hooks that make a handshake reproducible (RFC 8448): the ServerHello random and the server's key share. */
  random?: () => Uint8Array;
  keyShare?: (group: number) => Promise<KeyShare>;
}

/** What the handshake agreed on. */
export interface TlsSessionInfo {
  protocol: "TLSv1.3";
  cipherSuite: string;
  group: number;
  signatureScheme: number;
  alpnProtocol: string | undefined;
  serverName: string | undefined;
}

const DEFAULT_MAX_HANDSHAKE_MESSAGE = 64 * 1024;
const DEFAULT_KEY_UPDATE_AFTER_RECORDS = 2 ** 24;
/** Consecutive records that carry no application bytes (empty records, KeyUpdates): beyond it, a flood. */
const MAX_EMPTY_RECORDS = 64;
const CHANGE_CIPHER_SPEC = Uint8Array.of(ContentType.change_cipher_spec, 3, 3, 0, 1, 1);
const READ_DONE: ReadableStreamReadResult<Uint8Array> = { value: undefined, done: true };

function alertRecordContent(description: number): Uint8Array {
  return Uint8Array.of(2, description);
}

export class TlsServerConnection implements DirectIo {
  readonly reader: ByteReader = { read: () => this.read(), cancel: (reason) => this.cancel(reason) };
  readonly writer: ByteWriter = {
    write: (chunk) => this.write(chunk),
    close: () => this.close(),
    abort: (reason) => this.abort(reason),
  };

  private readonly records: RecordReader;
  private readCipher: RecordCipher | undefined;
  private writeCipher: RecordCipher | undefined;
  private suite!: CipherSuite;
  private clientTrafficSecret!: Uint8Array;
  private serverTrafficSecret!: Uint8Array;
  /** Handshake bytes read but not yet a whole message. */
  private handshakeBuffer: Uint8Array = new Uint8Array(0);
  /** Writes (and key changes) in order; each waits for the one before. */
  private writeChain: Promise<void> = Promise.resolve();
  private maxFragment = MAX_PLAINTEXT;
  private readEnded = false;
  private writeClosed = false;
  private failed = false;
  private sentChangeCipherSpec = false;
  private readonly maxHandshakeMessage: number;
  private readonly primitives: TlsPrimitives;

  constructor(
    private readonly raw: DirectIo,
    private readonly options: TlsServerOptions,
  ) {
    this.records = new RecordReader(raw.reader);
    this.maxHandshakeMessage = options.maxHandshakeMessageSize ?? DEFAULT_MAX_HANDSHAKE_MESSAGE;
    this.primitives = options.primitives ?? webCryptoPrimitives;
  }

  /** Runs the handshake; on failure the alert is sent, the socket closed, and the error rethrown. */
  async handshake(): Promise<TlsSessionInfo> {
    try {
      return await this.serverHandshake();
    } catch (error) {
      await this.fail(error);
      throw error;
    }
  }

  private async serverHandshake(): Promise<TlsSessionInfo> {
    const policy = {
      cipherSuites: this.options.cipherSuites ?? CIPHER_SUITES,
      groups: this.options.groups ?? SUPPORTED_GROUPS,
      signatureSchemes: this.options.credentials.signatureSchemes,
      alpnProtocols: this.options.alpnProtocols ?? [],
    };
    let clientHelloMessage = await this.readPlaintextHandshake(HandshakeType.client_hello, false);
    let hello = parseClientHello(clientHelloMessage.subarray(4));
    let negotiated = negotiate(hello, policy);
    const transcript: Uint8Array[] = [];

    if (!negotiated.clientShare) {
      // RFC 8446 §4.1.4: ask once for a share in a group we have; the transcript starts with the first hello's hash.
      const retry = helloRetryRequest({
        legacySessionId: hello.legacySessionId,
        cipherSuite: negotiated.suite.code,
        group: negotiated.group,
      });
      transcript.push(messageHash(await digest(this.primitives, negotiated.suite, clientHelloMessage)), retry);
      await this.raw.writer.write(concatAll([plaintextRecord(ContentType.handshake, retry), ...this.compatibilityChangeCipherSpec(hello)]));
      const first = { hello, negotiated };
      clientHelloMessage = await this.readPlaintextHandshake(HandshakeType.client_hello, true);
      hello = parseClientHello(clientHelloMessage.subarray(4));
      negotiated = negotiate(hello, policy);
      checkRetriedHello(first, hello, negotiated);
    }
    const { suite } = negotiated;
    this.suite = suite;
    transcript.push(clientHelloMessage);

    const share = await (this.options.keyShare ?? generateKeyShare)(negotiated.group);
    const sharedSecret = await share.sharedSecret(negotiated.clientShare!);
    const hello2 = serverHello({
      random: this.options.random?.() ?? crypto.getRandomValues(new Uint8Array(32)),
      legacySessionId: hello.legacySessionId,
      cipherSuite: suite.code,
      keyShare: share,
    });
    transcript.push(hello2);
    const secrets = await handshakeSecrets(
      this.primitives,
      suite,
      sharedSecret,
      await digest(this.primitives, suite, concatAll(transcript)),
    );
    const [serverHandshakeCipher, clientHandshakeCipher] = await Promise.all([
      RecordCipher.fromSecret(this.primitives, suite, secrets.serverHandshakeTrafficSecret),
      RecordCipher.fromSecret(this.primitives, suite, secrets.clientHandshakeTrafficSecret),
    ]);

    if (hello.recordSizeLimit !== undefined) this.maxFragment = Math.min(MAX_PLAINTEXT, hello.recordSizeLimit - 1);
    const flight = await this.serverFlight(hello, negotiated, transcript, secrets.serverHandshakeTrafficSecret);
    const application = await applicationSecrets(
      this.primitives,
      suite,
      secrets.handshakeSecret,
      await digest(this.primitives, suite, concatAll(transcript)),
    );
    const sealed = await serverHandshakeCipher.seal(ContentType.handshake, flight, this.maxFragment);
    await this.raw.writer.write(
      concatAll([plaintextRecord(ContentType.handshake, hello2), ...this.compatibilityChangeCipherSpec(hello), sealed]),
    );
    this.writeCipher = serverHandshakeCipher;

    // The client's Finished, under its handshake key; a middlebox-compatibility change_cipher_spec may come first.
    this.readCipher = clientHandshakeCipher;
    const expected = await finishedVerifyData(
      this.primitives,
      suite,
      secrets.clientHandshakeTrafficSecret,
      await digest(this.primitives, suite, concatAll(transcript)),
    );
    const clientFinished = await this.readProtectedHandshake();
    if (clientFinished[0] !== HandshakeType.finished) {
      throw new TlsAlertError(
        AlertDescription.unexpected_message,
        `expected the client's Finished, got handshake message ${clientFinished[0]}`,
      );
    }
    if (!sameBytesConstantTime(clientFinished.subarray(4), expected)) {
      throw new TlsAlertError(AlertDescription.decrypt_error, "the client's Finished does not verify");
    }
    if (this.handshakeBuffer.length)
      throw new TlsAlertError(AlertDescription.unexpected_message, "handshake data after the client's Finished");

    this.clientTrafficSecret = application.clientApplicationTrafficSecret;
    this.serverTrafficSecret = application.serverApplicationTrafficSecret;
    [this.readCipher, this.writeCipher] = await Promise.all([
      RecordCipher.fromSecret(this.primitives, suite, this.clientTrafficSecret),
      RecordCipher.fromSecret(this.primitives, suite, this.serverTrafficSecret),
    ]);
    return {
      protocol: "TLSv1.3",
      cipherSuite: suite.name,
      group: negotiated.group,
      signatureScheme: negotiated.signatureScheme,
      alpnProtocol: negotiated.alpnProtocol,
      serverName: hello.serverName,
    };
  }

  /** EncryptedExtensions, Certificate, CertificateVerify, Finished; appended to `transcript`. */
  private async serverFlight(
    hello: ClientHello,
    negotiated: Negotiated,
    transcript: Uint8Array[],
    serverSecret: Uint8Array,
  ): Promise<Uint8Array> {
    const { suite } = negotiated;
    const extensions = encryptedExtensions({
      recordSizeLimit: hello.recordSizeLimit === undefined ? undefined : MAX_PLAINTEXT + 1,
      serverNameAcknowledged: hello.serverName !== undefined,
      alpnProtocol: negotiated.alpnProtocol,
    });
    const certificateMessage = certificate(this.options.credentials.certificates);
    transcript.push(extensions, certificateMessage);
    const signature = await this.options.credentials.sign(
      negotiated.signatureScheme,
      certificateVerifyInput(await digest(this.primitives, suite, concatAll(transcript))),
    );
    const verify = certificateVerify(negotiated.signatureScheme, signature);
    transcript.push(verify);
    const serverFinished = finished(
      await finishedVerifyData(this.primitives, suite, serverSecret, await digest(this.primitives, suite, concatAll(transcript))),
    );
    transcript.push(serverFinished);
    return concatAll([extensions, certificateMessage, verify, serverFinished]);
  }

  /** A client in middlebox-compatibility mode (a legacy session id) gets one change_cipher_spec (RFC 8446 §D.4). */
  private compatibilityChangeCipherSpec(hello: ClientHello): Uint8Array[] {
    if (hello.legacySessionId.length === 0 || this.sentChangeCipherSpec) return [];
    this.sentChangeCipherSpec = true;
    return [CHANGE_CIPHER_SPEC];
  }

  /** A whole handshake message of `type` from plaintext records (the ClientHello). */
  private async readPlaintextHandshake(type: number, retried: boolean): Promise<Uint8Array> {
    for (;;) {
      const message = this.takeHandshakeMessage();
      if (message) {
        if (message[0] !== type)
          throw new TlsAlertError(AlertDescription.unexpected_message, `expected handshake message ${type}, got ${message[0]}`);
        // Nothing may follow a ClientHello before the server answers (RFC 8446 §5.1: no message spans a key change).
        if (this.handshakeBuffer.length)
          throw new TlsAlertError(AlertDescription.unexpected_message, "handshake data after the ClientHello");
        return message;
      }
      const record = await this.nextRecord();
      // After a HelloRetryRequest a compatibility-mode client may send change_cipher_spec before its second hello.
      if (record.type === ContentType.change_cipher_spec && retried) {
        checkChangeCipherSpec(record);
        continue;
      }
      if (record.type !== ContentType.handshake)
        throw new TlsAlertError(AlertDescription.unexpected_message, `a record of type ${record.type} before the ClientHello`);
      this.appendHandshake(record.body);
    }
  }

  /** A whole handshake message from protected records (the client's Finished). */
  private async readProtectedHandshake(): Promise<Uint8Array> {
    for (;;) {
      const message = this.takeHandshakeMessage();
      if (message) return message;
      const record = await this.nextRecord();
      if (record.type === ContentType.change_cipher_spec) {
        checkChangeCipherSpec(record);
        continue;
      }
      if (record.type !== ContentType.application_data)
        throw new TlsAlertError(AlertDescription.unexpected_message, "an unprotected record after the ServerHello");
      const { type, content } = await this.readCipher!.open(record.header, record.body);
      if (type === ContentType.alert) this.peerAlert(content);
      if (type !== ContentType.handshake)
        throw new TlsAlertError(AlertDescription.unexpected_message, `content type ${type} before the client's Finished`);
      this.appendHandshake(content);
    }
  }

  private async nextRecord(): Promise<TlsRecord> {
    const record = await this.records.next();
    if (!record) throw new TlsPeerAlertError(AlertDescription.close_notify);
    if (record.body.length === 0 && record.type !== ContentType.application_data) {
      throw new TlsAlertError(AlertDescription.unexpected_message, "an empty record");
    }
    // A client that cannot go on may say so in the clear at any point of the handshake.
    if (record.type === ContentType.alert) this.peerAlert(record.body);
    return record;
  }

  private appendHandshake(bytes: Uint8Array): void {
    if (bytes.length === 0) throw new TlsAlertError(AlertDescription.unexpected_message, "an empty handshake record");
    this.handshakeBuffer = this.handshakeBuffer.length ? concatAll([this.handshakeBuffer, bytes]) : bytes;
    if (this.handshakeBuffer.length > this.maxHandshakeMessage + 4) {
      throw new TlsAlertError(AlertDescription.unexpected_message, "handshake message over the size limit");
    }
  }

  private takeHandshakeMessage(): Uint8Array | undefined {
    const buffer = this.handshakeBuffer;
    if (buffer.length < 4) return undefined;
    const length = (buffer[1]! << 16) | (buffer[2]! << 8) | buffer[3]!;
    if (length > this.maxHandshakeMessage)
      throw new TlsAlertError(AlertDescription.unexpected_message, `handshake message of ${length} bytes is over the limit`);
    if (buffer.length < 4 + length) return undefined;
    this.handshakeBuffer = buffer.subarray(4 + length);
    return buffer.subarray(0, 4 + length);
  }

  /** The peer's alert record: close_notify ends reading; any other alert is fatal in TLS 1.3. */
  private peerAlert(content: Uint8Array): never {
    if (content.length !== 2) throw new TlsAlertError(AlertDescription.decode_error, "malformed alert");
    throw new TlsPeerAlertError(content[1]!);
  }

  private async read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.readEnded) return READ_DONE;
    try {
      for (let empty = 0; ; empty++) {
        if (empty > MAX_EMPTY_RECORDS)
          throw new TlsAlertError(AlertDescription.unexpected_message, "too many records without application data");
        const record = await this.records.next();
        if (!record) {
          // A FIN without close_notify: a truncation the protocol above sees as the end (HTTP frames its own bodies).
          this.readEnded = true;
          return READ_DONE;
        }
        if (record.type !== ContentType.application_data) {
          throw new TlsAlertError(AlertDescription.unexpected_message, `an unprotected record of type ${record.type} after the handshake`);
        }
        const { type, content } = await this.readCipher!.open(record.header, record.body);
        if (type === ContentType.application_data) {
          if (content.length) return { value: content, done: false };
          continue;
        }
        if (type === ContentType.alert) {
          if (content.length === 2 && content[1] === AlertDescription.close_notify) {
            this.readEnded = true;
            return READ_DONE;
          }
          this.peerAlert(content);
        }
        if (type !== ContentType.handshake)
          throw new TlsAlertError(AlertDescription.unexpected_message, `content type ${type} after the handshake`);
        this.appendHandshake(content);
        for (let message = this.takeHandshakeMessage(); message; message = this.takeHandshakeMessage()) await this.postHandshake(message);
      }
    } catch (error) {
      await this.fail(error);
      throw error;
    }
  }

  /** KeyUpdate is the one post-handshake message a client may send to a server that asks for no certificate. */
  private async postHandshake(message: Uint8Array): Promise<void> {
    if (message[0] !== HandshakeType.key_update)
      throw new TlsAlertError(AlertDescription.unexpected_message, `handshake message ${message[0]} after the handshake`);
    if (message.length !== 5 || message[4]! > KeyUpdateRequest.update_requested)
      throw new TlsAlertError(AlertDescription.illegal_parameter, "malformed KeyUpdate");
    if (this.handshakeBuffer.length)
      throw new TlsAlertError(AlertDescription.unexpected_message, "handshake data after a KeyUpdate in the same record");
    this.clientTrafficSecret = await nextTrafficSecret(this.primitives, this.suite, this.clientTrafficSecret);
    this.readCipher = await RecordCipher.fromSecret(this.primitives, this.suite, this.clientTrafficSecret);
    if (message[4] === KeyUpdateRequest.update_requested && !this.writeClosed) await this.enqueueWrite(() => this.updateWriteKey());
  }

  /** Sends a KeyUpdate under the current key and moves to the next (inside the write chain: nothing is sealed meanwhile). */
  private async updateWriteKey(): Promise<void> {
    await this.raw.writer.write(await this.writeCipher!.seal(ContentType.handshake, keyUpdate(KeyUpdateRequest.update_not_requested)));
    this.serverTrafficSecret = await nextTrafficSecret(this.primitives, this.suite, this.serverTrafficSecret);
    this.writeCipher = await RecordCipher.fromSecret(this.primitives, this.suite, this.serverTrafficSecret);
  }

  private enqueueWrite(step: () => Promise<void>): Promise<void> {
    const run = this.writeChain.then(step);
    this.writeChain = run.catch(() => {});
    return run;
  }

  private write(chunk: Uint8Array): Promise<void> {
    if (this.writeClosed) return Promise.reject(new TypeError("the TLS connection is closed for writing"));
    if (chunk.length === 0) return Promise.resolve();
    // The caller may reuse its buffer once write() resolves; sealing copies it into the inner plaintext first.
    return this.enqueueWrite(async () => {
      const limit = this.options.keyUpdateAfterRecords ?? DEFAULT_KEY_UPDATE_AFTER_RECORDS;
      // Nearly always one pass; a chunk that crosses the key's record budget is split at the KeyUpdate.
      for (let offset = 0; offset < chunk.length; ) {
        if (this.writeCipher!.records >= limit) await this.updateWriteKey();
        const part = chunk.subarray(offset, offset + (limit - this.writeCipher!.records) * this.maxFragment);
        offset += part.length;
        await this.raw.writer.write(await this.writeCipher!.seal(ContentType.application_data, part, this.maxFragment));
      }
    });
  }

  /** close_notify, then the socket's close. */
  private close(): Promise<void> {
    if (this.writeClosed) return this.writeChain;
    this.writeClosed = true;
    return this.enqueueWrite(async () => {
      if (this.writeCipher && !this.failed) {
        await this.raw.writer
          .write(await this.writeCipher.seal(ContentType.alert, Uint8Array.of(1, AlertDescription.close_notify)))
          .catch(() => {});
      }
      await this.raw.writer.close();
    });
  }

  private async abort(reason?: unknown): Promise<void> {
    this.writeClosed = true;
    this.readEnded = true;
    await this.raw.writer.abort(reason);
  }

  private async cancel(reason?: unknown): Promise<void> {
    this.readEnded = true;
    await this.records.cancel(reason);
  }

  /** Sends the alert an error calls for (none for the peer's own alert or a vanished peer) and closes the socket. */
  private async fail(error: unknown): Promise<void> {
    if (this.failed) return;
    this.failed = true;
    this.readEnded = true;
    this.writeClosed = true;
    const description =
      error instanceof TlsAlertError ? error.alert : error instanceof TlsPeerAlertError ? undefined : AlertDescription.internal_error;
    try {
      if (description !== undefined) {
        const content = alertRecordContent(description);
        const record = this.writeCipher
          ? await this.writeCipher.seal(ContentType.alert, content)
          : plaintextRecord(ContentType.alert, content);
        await this.raw.writer.write(record);
      }
      await this.raw.writer.close();
    } catch {
      await this.raw.writer.abort(error).catch(() => {});
    }
    await this.raw.reader.cancel(error).catch(() => {});
  }
}

function plaintextRecord(type: number, content: Uint8Array): Uint8Array {
  const records: Uint8Array[] = [];
  for (let offset = 0; offset < content.length; offset += MAX_PLAINTEXT) {
    const fragment = content.subarray(offset, offset + MAX_PLAINTEXT);
    records.push(Uint8Array.of(type, 3, 3, fragment.length >> 8, fragment.length & 0xff), fragment);
  }
  return concatAll(records);
}

function checkChangeCipherSpec(record: TlsRecord): void {
  if (record.body.length !== 1 || record.body[0] !== 1)
    throw new TlsAlertError(AlertDescription.unexpected_message, "malformed change_cipher_spec");
}

/** RFC 8446 §4.1.2: the second ClientHello repeats the first but for the key share, which must be in the asked group. */
function checkRetriedHello(first: { hello: ClientHello; negotiated: Negotiated }, hello: ClientHello, negotiated: Negotiated): void {
  if (negotiated.suite !== first.negotiated.suite)
    throw new TlsAlertError(AlertDescription.illegal_parameter, "the second ClientHello changed the cipher suite");
  if (hello.keyShares?.length !== 1 || hello.keyShares[0]!.group !== first.negotiated.group) {
    throw new TlsAlertError(AlertDescription.illegal_parameter, "the second ClientHello lacks the one key share asked for");
  }
  if (!sameBytesConstantTime(hello.legacySessionId, first.hello.legacySessionId))
    throw new TlsAlertError(AlertDescription.illegal_parameter, "the second ClientHello changed the session id");
}

function sameBytesConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
