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
