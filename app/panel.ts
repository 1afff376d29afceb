/**
 * The control panel of the app window: address, start/stop, live counters, the request log and errors.
 * DOM methods only (the IWA's Trusted Types policy forbids HTML strings), and redraws throttled to a timer
 * so that a busy server does not spend its time on layout.
 */
import { clientOf, type ErrorEntry, type RequestLogEntry, type ServerStats } from "./stats.js";
import { targetOf } from "../src/shared/url-target.js";

export type ServerState = "starting" | "listening" | "stopping" | "stopped" | "failed";

export interface PanelActions {
  start(host: string, port: number): void;
  stop(): void;
  /** Serve a folder the user picks instead of the app. */
  pickFolder(): void;
  /** Serve the remembered folder again (asks for the permission it lost). */
  resumeFolder(): void;
  /** Serve the app again instead of the folder. */
  stopFolder(): void;
}

/** The panel shares the thread with the server: redraw at most twice a second. */
const redrawIntervalMs = 500;
/** Log rows kept in the page (the log itself holds more, for automation). */
const maxRenderedRows = 100;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page lacks #${id}`);
  return found as T;
}

function clock(at: Date | number): string {
  const time = new Date(at);
  return time.toTimeString().slice(0, 8) + "." + String(time.getMilliseconds()).padStart(3, "0");
}

export class Panel {
  #stats: ServerStats;
  #state = element<HTMLElement>("state");
  #address = element<HTMLAnchorElement>("address");
  #host = element<HTMLInputElement>("host");
  #port = element<HTMLInputElement>("port");
  #startButton = element<HTMLButtonElement>("start");
  #stopButton = element<HTMLButtonElement>("stop");
  #log = element<HTMLTableSectionElement>("log");
  #logScroll = element<HTMLElement>("log-scroll");
  #follow = element<HTMLInputElement>("follow");
  #errors = element<HTMLOListElement>("errors");
  #noErrors = element<HTMLElement>("no-errors");
  #tryCurl = element<HTMLElement>("try-curl");
  #served = element<HTMLElement>("served");
  #resumeFolder = element<HTMLButtonElement>("resume-folder");
  #stopFolder = element<HTMLButtonElement>("stop-folder");
  #appSource = "";
  #appTryPath = "";
  #tryPath = "";
  #counters: Record<string, HTMLElement> = {
    connectionsOpen: element("connections-open"),
    connectionsTotal: element("connections-total"),
    requestsTotal: element("requests-total"),
    requestsActive: element("requests-active"),
    requestsRefused: element("requests-refused"),
    websocketsOpen: element("websocket-open"),
    errorsTotal: element("errors-total"),
  };
  /** The shown rows, top to bottom: the last entries of the log, oldest first. */
  #rows: HTMLTableRowElement[] = [];
  #redrawScheduled = false;
  #drawnErrors: { count: number; last: ErrorEntry | undefined } = { count: 0, last: undefined };

  constructor(stats: ServerStats, actions: PanelActions) {
    this.#stats = stats;
    stats.onChange(() => this.#scheduleRedraw());
    element<HTMLFormElement>("controls").addEventListener("submit", (event) => {
      event.preventDefault();
      actions.start(this.#host.value.trim(), Number(this.#port.value));
    });
    this.#stopButton.addEventListener("click", () => actions.stop());
    element("pick-folder").addEventListener("click", () => actions.pickFolder());
    this.#resumeFolder.addEventListener("click", () => actions.resumeFolder());
    this.#stopFolder.addEventListener("click", () => actions.stopFolder());
    element("clear-log").addEventListener("click", () => stats.clearLog());
    element("clear-errors").addEventListener("click", () => stats.clearErrors());
  }

  /** Names what the server serves, and the path to suggest trying. */
  setServed(source: string, tryPath: string): void {
    this.#appSource = source;
    this.#appTryPath = tryPath;
    this.#served.textContent = source;
    this.#tryPath = tryPath;
  }

  /** The picked folder being served (undefined: the app again); `remembered`: a folder that waits for a click. */
  setFolder(serving: string | undefined, remembered?: string): void {
    this.#served.textContent = serving === undefined ? this.#appSource : `the folder ${serving}`;
    this.#tryPath = serving === undefined ? this.#appTryPath : "/";
    this.#stopFolder.hidden = serving === undefined;
    this.#resumeFolder.hidden = remembered === undefined;
    this.#resumeFolder.textContent = remembered === undefined ? "" : `Serve ${remembered} again`;
  }

  setAddress(host: string, port: number): void {
    this.#host.value = host;
    this.#port.value = String(port);
  }

  setState(state: ServerState, url?: string): void {
    this.#state.dataset.state = state;
    this.#state.textContent = state;
    const listening = state === "listening" && url !== undefined;
    this.#address.textContent = listening ? url : "–";
    this.#address.href = listening ? url : "/";
    if (listening) this.#tryCurl.textContent = `curl ${new URL(this.#tryPath, url).href}`;
    const busy = state === "starting" || state === "stopping";
    this.#startButton.disabled = busy || state === "listening";
    this.#stopButton.disabled = busy || state !== "listening";
    this.#host.disabled = this.#port.disabled = busy || state === "listening";
    document.title = listening ? `browser-httpd · ${url}` : `browser-httpd · ${state}`;
  }

  #scheduleRedraw(): void {
    if (this.#redrawScheduled) return;
    this.#redrawScheduled = true;
    setTimeout(() => {
      this.#redrawScheduled = false;
      this.#redraw();
    }, redrawIntervalMs);
  }

  #redraw(): void {
    const figures = this.#stats.snapshot();
    for (const [name, node] of Object.entries(this.#counters)) node.textContent = String(figures[name] ?? 0);
    this.#redrawLog();
    this.#redrawErrors();
  }

  #redrawLog(): void {
    // Under load the log is a firehose: only its latest rows are shown, in a fixed set of rows refilled in place
    // (a cell is written only when its text changed), so that a redraw neither rebuilds rows nor forces a layout.
    const shownEntries = this.#stats.log.slice(-maxRenderedRows);
    while (this.#rows.length > shownEntries.length) this.#rows.pop()!.remove();
    const appended = this.#rows.length < shownEntries.length;
    while (this.#rows.length < shownEntries.length) {
      const row = this.#log.insertRow();
      for (const name of ["time", "client", "method", "target", "status", "num bytes", "num ms"]) {
        row.insertCell().className = name;
      }
      this.#rows.push(row);
    }
    shownEntries.forEach((entry, index) => {
      fillRow(this.#rows[index]!, entry);
    });
    if (appended && this.#follow.checked) this.#logScroll.scrollTop = this.#logScroll.scrollHeight;
  }

  #redrawErrors(): void {
    const errors = this.#stats.errors;
    // Unchanged since the last redraw (the list only grows at its end, or is trimmed or cleared)?
    if (errors.length === this.#drawnErrors.count && errors.at(-1) === this.#drawnErrors.last) return;
    this.#drawnErrors = { count: errors.length, last: errors.at(-1) };
    this.#noErrors.hidden = errors.length > 0;
    this.#errors.replaceChildren(
      ...errors.map(({ time, message }) => {
        const item = document.createElement("li");
        const stamp = document.createElement("time");
        stamp.textContent = clock(time);
        item.append(stamp, message);
        return item;
      }),
    );
    this.#errors.scrollTop = this.#errors.scrollHeight;
  }
}

function fillRow(row: HTMLTableRowElement, entry: RequestLogEntry): void {
  const cells = row.cells;
  const status = entry.status === undefined ? "…" : entry.status === 0 ? "error" : String(entry.status);
  const texts = [
    clock(entry.time),
    clientOf(entry),
    entry.method,
    targetOf(entry.url),
    status,
    entry.bytes === undefined ? "" : String(entry.bytes),
    entry.milliseconds === undefined ? "" : entry.milliseconds.toFixed(1),
  ];
  texts.forEach((text, index) => {
    const cell = cells[index]!;
    if (cell.textContent !== text) cell.textContent = text;
  });
  row.className = entry.status === 0 ? "failed" : entry.status ? `status-${String(entry.status)[0]}` : "";
}
