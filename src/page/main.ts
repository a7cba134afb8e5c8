// The status page, in the browser: one event stream from the manager (the same snapshot as /status, once a
// second, and the log it follows), drawn with plain DOM calls. Text from servers and clients is only ever set as
// text, never parsed as HTML.
import type { SessionReport } from "../runtime/daemon-health.js";
import type { ChildReport, DaemonReport } from "../manager/daemon-state.js";
import type { StatusSnapshot } from "../manager/status-snapshot.js";

/** Log lines kept on the page; older ones scroll away. */
const LOG_LINES = 1000;

/**
 * The key this page was given by its one-time link (in the fragment, which no server sees), kept in
 * sessionStorage (this tab, this origin) so that a reload keeps it; every request carries it.
 */
function pageKey(): string | undefined {
  const given = /^#key=([\w-]+)$/.exec(location.hash)?.[1];
  if (given) {
    sessionStorage.setItem("key", given);
    history.replaceState(null, "", "/");
  }
  return sessionStorage.getItem("key") ?? undefined;
}

const key = pageKey();
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const notice = byId<HTMLParagraphElement>("notice");
const logChoice = byId<HTMLSelectElement>("log-choice");
const logView = byId<HTMLPreElement>("log");
const cards = new Map<string, ServerCard>();
let stream: EventSource | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: Array<Node | string>) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

const svgNs = "http://www.w3.org/2000/svg";

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
const mib = (bytes: number | undefined) => (bytes === undefined ? "–" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);
/** As the logs write times: UTC, to the second. */
const time = (at: number) => `${new Date(at).toISOString().slice(0, 19).replace("T", " ")}Z`;
const clientName = (session: SessionReport) =>
  session.client ? `${session.client.name}${session.client.version ? ` ${session.client.version}` : ""}` : "(not initialized)";

/** Tables kept from one update to the next, by caption: refilled in place, so scrolling and a selection survive. */
const tables = new Map<string, HTMLElement>();

/** A table with a header row and one row per item (numbers right-aligned), made once, then updated cell by cell. */
function table(caption: string, headers: string[], rows: Array<Array<string | number>>): HTMLElement {
  let wrapper = tables.get(caption);
  if (!wrapper) {
    const head = el("tr", {}, ...headers.map((text) => el("th", { scope: "col" }, text)));
    const parts = [el("caption", { class: "visually-hidden" }, caption), el("thead", {}, head), el("tbody")];
    wrapper = el("div", { class: "scroll" }, el("table", {}, ...parts));
    tables.set(caption, wrapper);
  }
  const body = wrapper.querySelector("tbody")!;
  while (body.rows.length > rows.length) body.deleteRow(-1);
  rows.forEach((row, r) => {
    const line = body.rows[r] ?? body.insertRow();
    row.forEach((cell, c) => {
      const td = line.cells[c] ?? line.insertCell();
      const text = String(cell);
      if (td.textContent !== text) td.textContent = text;
      const kind = typeof cell === "number" ? "num" : "";
      if (td.className !== kind) td.className = kind;
    });
  });
  return wrapper;
}

/** A small line chart of the buckets: one or two series, scaled to their own maximum. */
function chart(label: string, series: Array<{ values: number[]; className: string }>): SVGSVGElement {
  const width = 240;
  const height = 48;
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const max = Math.max(1e-9, ...series.flatMap((line) => line.values));
  for (const line of series) {
    const step = width / Math.max(1, line.values.length - 1);
    const points = line.values.map(
      (value, index) => `${(index * step).toFixed(1)},${(height - 2 - (value / max) * (height - 4)).toFixed(1)}`,
    );
    const polyline = document.createElementNS(svgNs, "polyline");
    polyline.setAttribute("points", points.join(" "));
    polyline.setAttribute("class", line.className);
    svg.append(polyline);
  }
  return svg;
}

/** One server's card: built once, with its buttons, then updated in place so focus and open details survive. */
class ServerCard {
  readonly root: HTMLElement;
  private readonly state = el("span", { class: "state" });
  private readonly meta = el("p", { class: "meta" });
  private readonly buttons: Record<"start" | "stop" | "restart", HTMLButtonElement>;
  // Parts that stay from one update to the next (tables are refilled in place): scrolling and a selection survive.
  private readonly charts = el("div", { class: "charts" });
  private readonly children = el("div");
  private readonly childrenTitle = el("h3", {}, "Children");
  private readonly sessionsTitle = el("h3");
  private readonly sessions = el("div");
  private readonly noSessions = el("p", { class: "empty" }, "No session is connected.");
  private readonly restartsList = el("ul");
  private readonly restartsSummary = el("summary");
  private readonly errorsList = el("ul");
  private readonly errorsSummary = el("summary");

  constructor(readonly name: string) {
    const heading = el("h2", { id: `server-${name}-title` }, name);
    const button = (action: "start" | "stop" | "restart", label: string) => {
      const node = el("button", { type: "button", "aria-label": `${label} ${name}` }, label);
      node.addEventListener("click", () => void act(action, name, node));
      return node;
    };
    this.buttons = { start: button("start", "Start"), stop: button("stop", "Stop"), restart: button("restart", "Restart") };
    const log = el("button", { type: "button", "aria-label": `Full log of ${name}` }, "Full log");
    log.addEventListener("click", () => void showFullLog(name));
    this.root = el(
      "article",
      { class: "server", "aria-labelledby": heading.id },
      el(
        "div",
        { class: "server-head" },
        heading,
        this.state,
        el("div", { class: "actions" }, this.buttons.start, this.buttons.stop, this.buttons.restart, log),
      ),
      this.meta,
      this.charts,
      this.children,
      this.sessionsTitle,
      this.sessions,
      el("details", {}, this.restartsSummary, this.restartsList),
      el("details", {}, this.errorsSummary, this.errorsList),
    );
  }

  update(daemon: DaemonReport): void {
    this.state.textContent = daemon.state;
    this.state.className = `state state-${daemon.state}`;
    const facts = [
      daemon.transport,
      daemon.pid !== undefined ? `pid ${daemon.pid}` : undefined,
      daemon.uptimeMs !== undefined ? `up ${duration(daemon.uptimeMs)}` : undefined,
      count(daemon.restarts ?? 0, "unplanned restart"),
      daemon.rssBytes !== undefined ? `daemon ${mib(daemon.rssBytes)}` : undefined,
      daemon.sessions !== undefined ? count(daemon.sessions, "session") : undefined,
      daemon.remote ? `relays to ${daemon.remote.url} (${daemon.remote.answers ? "answering" : "not answering"})` : undefined,
    ];
    this.meta.textContent = facts.filter(Boolean).join(" · ") + (daemon.lastError ? ` — last error: ${daemon.lastError}` : "");
    const disabled = daemon.state === "disabled";
    this.buttons.start.disabled = disabled || daemon.state === "running";
    this.buttons.stop.disabled = disabled || daemon.state === "stopped";
    this.buttons.restart.disabled = disabled;

    if (daemon.calls) {
      const { buckets, bucketMs } = daemon.calls;
      const now = daemon.calls.lastMinute;
      const rate = buckets.map((bucket) => bucket.calls / (bucketMs / 1000));
      this.charts.replaceChildren(
        el(
          "figure",
          {},
          chart(`Calls per second over the last ${duration(buckets.length * bucketMs)}`, [{ values: rate, className: "a" }]),
          el("figcaption", {}, `${now.perSecond.toFixed(1)} calls/s · ${count(now.errors, "error")} in the last minute`),
        ),
        el(
          "figure",
          {},
          chart("Latency, median and 95th percentile", [
            { values: buckets.map((bucket) => bucket.p95 ?? 0), className: "b" },
            { values: buckets.map((bucket) => bucket.p50 ?? 0), className: "a" },
          ]),
          el(
            "figcaption",
            {},
            now.calls === 0
              ? "latency: no calls in the last minute"
              : `p50 ${Math.round(now.p50 ?? 0)} ms (blue) · p95 ${Math.round(now.p95 ?? 0)} ms (orange) in the last minute`,
          ),
        ),
      );
    } else this.charts.replaceChildren();
    const children = daemon.children ?? [];
    show(
      this.children,
      children.length === 0
        ? []
        : [
            this.childrenTitle,
            table(
              `Children of ${daemon.name}`,
              ["Serves", "State", "Pid", "Memory", "Sessions", "In flight", "Restarts"],
              children.map((child: ChildReport) => [
                child.serves,
                child.state,
                child.pid ?? "–",
                mib(child.rssBytes),
                child.sessions,
                child.inFlight,
                child.restarts,
              ]),
            ),
          ],
    );
    const sessions = daemon.sessionList ?? [];
    this.sessionsTitle.textContent = `Sessions (${sessions.length})`;
    show(
      this.sessions,
      sessions.length === 0
        ? [this.noSessions]
        : [
            table(
              `Sessions of ${daemon.name}`,
              ["Client", "Project", "Connected", "Calls", "Errors", "In flight"],
              sessions.map((session) => [
                clientName(session),
                session.project ?? "–",
                `${duration(Date.now() - session.connectedAt)} ago`,
                session.calls,
                session.errors,
                inFlightText(session),
              ]),
            ),
          ],
    );

    const restarts = [...(daemon.restartLog ?? []).map((event) => ({ ...event, who: "daemon" }))];
    for (const child of children) for (const event of child.restartLog ?? []) restarts.push({ ...event, who: `child ${child.serves}` });
    restarts.sort((a, b) => b.at - a.at);
    this.restartsSummary.textContent = `Restart history (${restarts.length})`;
    this.restartsList.replaceChildren(...restarts.map((event) => el("li", {}, `${time(event.at)} ${event.who}: ${event.reason}`)));
    const errors = [...(daemon.calls?.recentErrors ?? [])].reverse();
    this.errorsSummary.textContent = `Recent errors (${errors.length})`;
    this.errorsList.replaceChildren(
      ...errors.map((error) =>
        el(
          "li",
          {},
          `${time(error.at)} ${error.method}${error.tool ? ` ${error.tool}` : ""}: `,
          el("span", { class: "error-text" }, error.error),
        ),
      ),
    );
  }
}

/** Draws a snapshot, timed as a `render` measure (seen in the browser's performance tools, and by the benchmark). */
/** Makes `nodes` the children of `box`, touching it only when they differ (moving a table loses its scrolling). */
function show(box: HTMLElement, nodes: HTMLElement[]): void {
  if (box.children.length === nodes.length && nodes.every((node, i) => box.children[i] === node)) return;
  box.replaceChildren(...nodes);
}

/** What a session waits for: the longest-waiting calls, and how many more there are. */
function inFlightText(session: SessionReport): string {
  const listed = session.inFlight.map((call) => `${call.tool ? `${call.method} ${call.tool}` : call.method} for ${duration(call.forMs)}`);
  const more = session.waiting - session.inFlight.length;
  return [...listed, ...(more > 0 ? [`${more} more`] : [])].join(", ") || "–";
}

function render(snapshot: StatusSnapshot): void {
  performance.mark("render-start");
  draw(snapshot);
  // Ten minutes of updates are kept; older ones are dropped so that a page left open does not grow.
  if (performance.getEntriesByName("render").length >= 600) performance.clearMeasures("render");
  performance.measure("render", "render-start");
  performance.clearMarks("render-start");
}

function draw(snapshot: StatusSnapshot): void {
  const { manager } = snapshot;
  byId("manager").textContent =
    `version ${manager.version} · manager pid ${manager.pid} · up ${duration(manager.uptimeMs)} · ${mib(manager.rssBytes)} · ` +
    `config ${manager.config ?? "embedded defaults"} · home ${manager.home}`;
  const configError = byId<HTMLParagraphElement>("config-error");
  configError.hidden = !manager.configError;
  configError.textContent = manager.configError
    ? `The config file has an error (the last good one is in force): ${manager.configError}`
    : "";

  const servers = byId("servers");
  const names = new Set(snapshot.daemons.map((daemon) => daemon.name));
  for (const [name, card] of cards) {
    if (names.has(name)) continue;
    card.root.remove();
    cards.delete(name);
  }
  snapshot.daemons.forEach((daemon, index) => {
    let card = cards.get(daemon.name);
    if (!card) {
      card = new ServerCard(daemon.name);
      cards.set(daemon.name, card);
    }
    if (servers.children[index] !== card.root) servers.insertBefore(card.root, servers.children[index] ?? null);
    card.update(daemon);
  });

  const databases = snapshot.daemons.flatMap((daemon) => (daemon.children ?? []).flatMap((child) => child.databases ?? []));
  byId("databases-section").hidden = databases.length === 0;
  show(
    byId("databases"),
    databases.length
      ? [
          table(
            "Memory databases in use",
            ["Database", "Size", "Entities"],
            databases.map((database) => [database.path, mib(database.bytes), database.entities ?? "–"]),
          ),
        ]
      : [],
  );

  const choices = ["manager", ...snapshot.daemons.map((daemon) => daemon.name)];
  if ([...logChoice.options].map((option) => option.value).join("\n") !== choices.join("\n")) {
    const selected = logChoice.value || "manager";
    logChoice.replaceChildren(...choices.map((name) => el("option", { value: name }, name)));
    logChoice.value = choices.includes(selected) ? selected : "manager";
  }
}

function appendLog(lines: string[]): void {
  const atBottom = logView.scrollTop + logView.clientHeight >= logView.scrollHeight - 4;
  const kept = (logView.textContent ? logView.textContent.split("\n") : []).concat(lines).slice(-LOG_LINES);
  logView.textContent = kept.join("\n");
  if (atBottom) logView.scrollTop = logView.scrollHeight;
}

async function act(action: "start" | "stop" | "restart", name: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  notice.textContent = `${action} ${name}…`;
  try {
    const response = await fetch(`/actions/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-page-key": key ?? "" },
      body: JSON.stringify({ name }),
    });
    const body = (await response.json()) as { error?: string };
    notice.textContent = response.ok ? `${action} ${name}: done` : `${action} ${name} failed: ${body.error ?? response.statusText}`;
  } catch (error) {
    notice.textContent = `${action} ${name} failed: ${(error as Error).message}`;
  } finally {
    button.disabled = false;
  }
}

/** A server's whole log, in a dialog over the page (Escape or Close returns to it). */
async function showFullLog(name: string): Promise<void> {
  const dialog = byId<HTMLDialogElement>("full-log");
  byId("full-log-title").textContent = `Log of ${name}`;
  const text = byId<HTMLPreElement>("full-log-text");
  text.textContent = "loading…";
  dialog.showModal();
  try {
    const response = await fetch(`/logs/${encodeURIComponent(name)}`, { headers: { "x-page-key": key ?? "" } });
    text.textContent = await response.text();
    text.scrollTop = text.scrollHeight;
  } catch (error) {
    text.textContent = `the log could not be read: ${(error as Error).message}`;
  }
}

function follow(log: string): void {
  stream?.close();
  logView.textContent = "";
  stream = new EventSource(`/events?log=${encodeURIComponent(log)}&key=${encodeURIComponent(key ?? "")}`);
  stream.addEventListener("status", (event) => render(JSON.parse((event as MessageEvent<string>).data) as StatusSnapshot));
  stream.addEventListener("log", (event) => appendLog(JSON.parse((event as MessageEvent<string>).data) as string[]));
  stream.addEventListener(
    "failure",
    (event) => (notice.textContent = `status not available: ${JSON.parse((event as MessageEvent<string>).data) as string}`),
  );
  stream.addEventListener("open", () => {
    document.body.classList.remove("disconnected");
    if (notice.textContent?.startsWith("disconnected")) notice.textContent = "";
  });
  stream.addEventListener("error", () => {
    // What is shown is no longer live: greyed out, with nothing to press, until the stream is back.
    document.body.classList.add("disconnected");
    notice.textContent =
      stream?.readyState === EventSource.CLOSED
        ? "disconnected: the manager stopped or restarted; run mcp-manager open for a new link"
        : "disconnected: reconnecting…";
  });
}

if (key) {
  byId("full-log-close").addEventListener("click", () => byId<HTMLDialogElement>("full-log").close());
  logChoice.addEventListener("change", () => follow(logChoice.value));
  follow("manager");
} else {
  // Logged in, but not from this tab's link: the same one line as without the cookie.
  document.body.replaceChildren(el("p", {}, "Run ", el("code", {}, "mcp-manager open"), " to see this page."));
}
