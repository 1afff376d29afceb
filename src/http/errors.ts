/** A request the server refuses: the status to answer with, and why (sent as the plain-text body). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/**
 * A response that broke off after its head went out (its body stream failed, e.g. because the request body it
 * echoes was cut short): no other answer can follow on that connection, only its close.
 */
export class ResponseInterrupted extends Error {
  constructor(cause: unknown) {
    super(`response cut short: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ResponseInterrupted";
  }
}
