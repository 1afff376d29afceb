/** Bounds on what one client may make the server hold or wait for. Every field has a default. */
export interface Limits {
  /** Bytes of request line plus header section (431 beyond). */
  maxHeaderSize: number;
  /** Bytes of the request target (414 beyond). */
  maxRequestTargetLength: number;
  /** Bytes of a request body (413 beyond, decided from Content-Length before reading when it is given). */
  maxBodySize: number;
  /** Milliseconds to receive a whole request head once its first byte arrived (408). */
  headersTimeout: number;
  /**
   * Milliseconds the server waits for the next bytes of a request body it is reading (408, or a close once the
   * response has begun): a client that stalls mid-upload cannot hold a connection forever.
   */
  bodyTimeout: number;
  /** Milliseconds a keep-alive connection may sit idle between requests before it is closed. */
  idleTimeout: number;
  /** Open connections at once; more are answered 503 and closed. */
  maxConnections: number;
}

export const defaultLimits: Limits = {
  maxHeaderSize: 16 * 1024,
  maxRequestTargetLength: 8 * 1024,
  maxBodySize: 128 * 1024 * 1024,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
  idleTimeout: 5_000,
  maxConnections: 1024,
};

export function resolveLimits(overrides: Partial<Limits>): Limits {
  const limits = { ...defaultLimits };
  for (const key of Object.keys(defaultLimits) as (keyof Limits)[]) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${key} must be a positive number, got ${value}`);
    limits[key] = value;
  }
  return limits;
}
