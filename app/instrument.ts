/**
 * Wraps an app's handlers so the panel sees every request (log entry, in-flight count, status, time to
 * response), every handler error (answered by the app's onError, else 500), and WebSocket peers coming and going.
 */
import type { FetchHandler } from "../src/index.js";
import { isUpgrade, upgradeResponse } from "../src/index.js";
import { FastResponse } from "../src/http/fast-response.js";
import { isPromiseLike } from "../src/shared/maybe-promise.js";
import type { RequestLogEntry, ServerStats } from "./stats.js";

/** The parts of a Bun-style WebSocket handler object that the panel counts. */
interface WebSocketHooks {
  open?(...args: never[]): unknown;
  close?(...args: never[]): unknown;
}

export interface InstrumentedApp<W extends WebSocketHooks | undefined> {
  fetch: FetchHandler;
  websocket: W;
  onError(error: unknown): Response | Promise<Response>;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

const RESOLVED = Promise.resolve();

/** Read once: the page's time origin never changes, and each read crosses into Blink. */
const timeOrigin = performance.timeOrigin;

export function instrument<W extends WebSocketHooks | undefined>(
  app: { fetch: FetchHandler; websocket?: W; onError?: (error: unknown) => Response | Promise<Response> },
  stats: ServerStats,
): InstrumentedApp<W> {
  /** The handler's answer recorded in `entry`: its Response, or its failure when `failed`. */
  const record = (entry: RequestLogEntry, response: Response | undefined, failed: boolean): void => {
    if (failed) {
      entry.status = 0;
    } else {
      // An accepted upgrade goes out as 101 whatever the marker Response's own status says.
      entry.status = response && isUpgrade(response) ? 101 : (response?.status ?? 0);
      const length = response && FastResponse.headerOf(response, "content-length");
      if (length !== null && length !== undefined) entry.bytes = Number(length);
    }
    entry.milliseconds = performance.now() - (entry.time - timeOrigin);
    stats.requestsActive--;
    stats.changed();
  };

  /**
   * Answers given at once, logged once they went out. The server writes such an answer in the same turn as the
   * handler returns it; the bookkeeping before that write delayed it, and on Chromium's cold request path a
   * microsecond of work before the write costs several of round trip, after it much less (bench/RESULTS.md).
   */
  let answeredAtOnce: Array<{ entry: RequestLogEntry; response: Response | undefined }> = [];
  const logAnsweredAtOnce = (): void => {
    const answered = answeredAtOnce;
    answeredAtOnce = [];
    for (const { entry, response } of answered) {
      stats.addLogEntry(entry);
      record(entry, response, false);
    }
  };

  // Not async: an answer given at once stays synchronous (src/shared/maybe-promise.ts).
  const fetch: FetchHandler = (request, info) => {
    // One clock reading serves both the wall-clock time and the duration.
    const started = performance.now();
    // Texts are made when a row is shown, not per request; every field is set here so that entries share one shape.
    const entry: RequestLogEntry = {
      time: timeOrigin + started,
      peer: info,
      method: request.method,
      url: request.url,
      status: undefined,
      bytes: undefined,
      milliseconds: undefined,
    };
    stats.requestsTotal++;
    stats.requestsActive++;
    let answer: ReturnType<FetchHandler>;
    try {
      answer = app.fetch(request, info);
    } catch (error) {
      stats.addLogEntry(entry);
      record(entry, undefined, true);
      throw error;
    }
    if (!isPromiseLike(answer)) {
      const response = answer ?? upgradeResponse(request);
      if (answeredAtOnce.length === 0) RESOLVED.then(logAnsweredAtOnce);
      answeredAtOnce.push({ entry, response });
      return response;
    }
    // A handler still working shows in the log at once, without a status yet.
    stats.addLogEntry(entry);
    return Promise.resolve(answer).then(
      (settled) => recorded(entry, request, settled),
      (error: unknown) => {
        record(entry, undefined, true);
        throw error;
      },
    );
  };

  const recorded = (entry: RequestLogEntry, request: Request, answer: Response | undefined): Response | undefined => {
    const response = answer ?? upgradeResponse(request);
    record(entry, response, false);
    return response;
  };

  let websocket = app.websocket;
  if (websocket) {
    const { open, close } = websocket;
    websocket = {
      ...websocket,
      open(...args: never[]) {
        stats.websocketsOpen++;
        stats.changed();
        return open?.apply(websocket, args);
      },
      close(...args: never[]) {
        stats.websocketsOpen--;
        stats.changed();
        return close?.apply(websocket, args);
      },
    };
  }

  const onError = (error: unknown): Response | Promise<Response> => {
    stats.addError(`handler failed: ${describe(error)}`);
    // The app's own onError answers, when it has one; the panel lists the error either way.
    if (app.onError) return app.onError(error);
    return new Response("Internal Server Error\n", {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  };

  return { fetch, websocket: websocket as W, onError };
}
