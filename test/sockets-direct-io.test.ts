/**
 * The Node adapter's direct IO (src/sockets/direct-io.ts): the reader and writer on the socket itself that the HTTP
 * connection uses instead of the streams. Checked with raw node:net clients: data, the peer's FIN, a reset, cancel,
 * a graceful close, and that the streams and the direct pair cannot both take the same socket. (The streams are
 * built on the same reader and writer; test/sockets.test.ts checks them on every runtime.)
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import * as net from "node:net";
import { DIRECT_IO, type DirectIo } from "../src/sockets/direct-io.js";
import { createServerSocket } from "../src/sockets/node.js";
import type { TCPSocketOpenInfo } from "../src/sockets/types.js";

/** A listening adapter socket, a connected client, and the accepted socket's open info. */
async function connected(): Promise<{ client: net.Socket; opened: TCPSocketOpenInfo; stop(): Promise<void> }> {
  const server = createServerSocket("127.0.0.1", { localPort: 0 });
  const { readable, localPort } = await server.opened;
  const client = net.connect({ port: localPort, host: "127.0.0.1", allowHalfOpen: true });
  const accepts = readable.getReader();
  const { value: accepted } = await accepts.read();
  accepts.releaseLock();
  const opened = await accepted!.opened;
  return {
    client,
    opened,
    async stop() {
      client.destroy();
      await accepted!.close();
      await server.close();
    },
  };
}

const direct = (opened: TCPSocketOpenInfo): DirectIo => opened[DIRECT_IO]!();

async function readAll(client: net.Socket): Promise<string> {
  const chunks: Buffer[] = [];
  client.on("data", (chunk: Buffer) => chunks.push(chunk));
  await once(client, "end");
  return Buffer.concat(chunks).toString();
}

describe("Node adapter direct IO", { timeout: 30_000 }, () => {
  it("reads what the client sent, then the end after its FIN; writes, and a close sends the FIN", async () => {
    const { client, opened, stop } = await connected();
    try {
      const { reader, writer } = direct(opened);
      client.end("hello");
      let received = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        received += Buffer.from(value).toString();
      }
      assert.equal(received, "hello");
      const answer = readAll(client);
      await writer.write(new TextEncoder().encode("world"));
      await writer.close();
      assert.equal(await answer, "world");
    } finally {
      await stop();
    }
  });

  it("settles a pending read as the end when the reader is cancelled", async () => {
    const { opened, stop } = await connected();
    try {
      const { reader } = direct(opened);
      const pending = reader.read();
      await reader.cancel();
      assert.deepEqual(await pending, { value: undefined, done: true });
    } finally {
      await stop();
    }
  });

  it("rejects a pending read when the client resets the connection", async () => {
    const { client, opened, stop } = await connected();
    try {
      const { reader } = direct(opened);
      const pending = reader.read();
      client.resetAndDestroy();
      await assert.rejects(pending);
    } finally {
      await stop();
    }
  });

  it("rejects writes after the writer was closed", async () => {
    const { opened, stop } = await connected();
    try {
      const { writer } = direct(opened);
      await writer.close();
      await assert.rejects(writer.write(new Uint8Array([1])));
    } finally {
      await stop();
    }
  });

  it("lets either the streams or the direct pair take a socket, not both", async () => {
    const first = await connected();
    try {
      direct(first.opened);
      assert.throws(() => first.opened.readable, TypeError);
    } finally {
      await first.stop();
    }
    const second = await connected();
    try {
      second.opened.writable.getWriter();
      assert.throws(() => direct(second.opened), TypeError);
    } finally {
      await second.stop();
    }
  });
});
