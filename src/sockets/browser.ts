import type { ListenOptions, TCPServerSocket } from "./types.js";

/** The native Direct Sockets server socket of an Isolated Web App. */
export function createBrowserServerSocket(localAddress: string, options: ListenOptions): TCPServerSocket {
  const Native = globalThis.TCPServerSocket;
  if (!Native) throw new Error("TCPServerSocket is not available: Direct Sockets exist only inside an Isolated Web App");
  const { localPort, backlog, ipv6Only } = options;
  return new Native(localAddress, { localPort, backlog, ipv6Only });
}
