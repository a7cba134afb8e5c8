import { setTimeout as sleep } from "node:timers/promises";
import { isDrainNotice } from "../protocol/drain-notice.js";
import { idKey, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse, type RequestId } from "../protocol/json-rpc.js";
import { listChangedNotifications } from "../protocol/list-changes.js";
import type { UpstreamTransport } from "../upstream/transport.js";
import { UpstreamError, needsNewSession } from "../upstream/upstream-error.js";
import type { OpenRequests, Pending, RelayWrite } from "./open-requests.js";
import { WaitingMessages } from "./waiting-messages.js";

export interface UpstreamLinkOptions {
  /** Finds or starts the daemon and opens a transport to it; throws an Error that says why it could not. */
  connect: () => Promise<UpstreamTransport>;
  requests: OpenRequests;
  write: RelayWrite;
  log: (line: string) => void;
  /** How long connecting may take: a daemon coming up, and its answer to the replayed initialize. */
  handshakeTimeoutMs: number;
  /** What is upstream, as logs and errors name it: "daemon" (mcp-proxy's), "server" (a daemon's HTTP server). */
  upstream: string;
}

/** A message for the daemon, with the text it arrived as. */
export interface Outgoing {
  message: JsonRpcMessage;
  text: string;
  /** The line's bytes, to send as they are where the transport can (a large message: large-lines.ts). */
  bytes?: Buffer | undefined;
  /** How often it was sent again because an upstream session certainly never took it. */
  resent?: number;
}

const REINIT_ID_PREFIX = "mcp-proxy-reinitialize-";
/** What a request the daemon may have run is answered with, when its session is lost. */
const lostWhileRunning = (upstream: string, reason: string) =>
  `connection to the ${upstream} was lost (${reason}); the request may not have completed`;
/** Server requests whose asking generation is remembered; a client that never answers cannot grow the map. */
const MAX_ASKED = 1000;
/** How long closing a drained daemon session may take (an HTTP DELETE); nothing waits for it. */
const DRAINED_CLOSE_MS = 2000;
const RETRY_AFTER_LOSS_MS = 200;
/**
 * A message no new session takes this many times in a row will not be taken: it fails with the last reason rather
 * than going round for ever (an upstream that takes connections and refuses every message unseen).
 */
const MAX_RESENDS = 5;
/** Lost sessions whose calls in flight may still be answered; past this many the oldest is closed outright. */
const MAX_RETIRED = 16;

/**
 * The daemon side of the proxy: one daemon session at a time, numbered by generation. Messages wait in order
 * while there is none; a session that ends is rebuilt by replaying the client's handshake under an id of our
 * own; each send reports its own fate, so a message the daemon never saw is sent again and a request it may
 * have run is answered with an error. Anything from an older generation is stale and dropped.
 */
export class UpstreamLink {
  private transport: UpstreamTransport | undefined;
  private connecting: Promise<void> | undefined;
  /** The transport being set up (started, its handshake replayed): closing the link closes it too. */
  private settingUp: UpstreamTransport | undefined;
  private generation = 0;
  private readonly queue = new WaitingMessages();
  /** The client's handshake, replayed to each new daemon session. */
  private initialize: Outgoing | undefined;
  private initialized: Outgoing | undefined;
  /** True once the daemon answered the client's initialize: every later daemon session needs it replayed. */
  private sessionInitialized = false;
  private replayWaiter: { id: string; resolve: (response: JsonRpcResponse) => void; reject: (error: Error) => void } | undefined;
  private closing = false;
  private paused = false;
  /**
   * Sessions of daemons being replaced (drain notice received), by generation: nothing new goes there, but the
   * answers, progress and server requests of what was sent there still come from there, and the client's
   * cancels and answers for those go back there. Each is closed once nothing it was sent waits any more.
   */
  private readonly draining = new Map<number, UpstreamTransport>();
  /** Lost sessions left to finish what they had in flight (transport.retire), closed outright with the link. */
  private readonly retired = new Set<UpstreamTransport>();
  /** Which generation asked each server request the client has not answered yet (bounded). */
  private readonly askedBy = new Map<string, number>();

  private readonly upstream: string;

  constructor(private readonly options: UpstreamLinkOptions) {
    this.upstream = options.upstream;
  }

  /** The client starts (or restarts) its handshake: this is what later daemon sessions are given. */
  handshakeStarted(initialize: Outgoing): void {
    this.initialize = initialize;
    this.initialized = undefined;
    this.sessionInitialized = false;
  }

  handshakeCompleted(initialized: Outgoing): void {
    this.initialized = initialized;
  }

  /** The client cannot take more for now (its stdout is full): stop reading the daemon until it can. */
  pause(paused: boolean): void {
    this.paused = paused;
    if (paused) this.transport?.pause?.();
    else this.transport?.resume?.();
  }

  /**
   * Sends a message from the client. `about` names the generation of the request it is about (a cancel), if
   * known: a cancel for a request a draining daemon runs goes to that daemon.
   */
  send(outgoing: Outgoing, about?: number): void {
    const { message } = outgoing;
    const generation = !("method" in message) && message.id !== null ? this.askedBy.get(idKey(message.id)) : about;
    if (!("method" in message) && message.id !== null) this.askedBy.delete(idKey(message.id));
    const old = generation === undefined ? undefined : this.draining.get(generation);
    if (old) {
      this.sendOn(old, generation!, outgoing);
      return this.closeIfDone(generation!);
    }
    const transport = this.transport;
    if (!transport || this.connecting) {
      const refused = this.queue.add(outgoing);
      if (refused) return this.refuseQueued(outgoing, refused);
      void this.ensureConnected();
      return;
    }
    this.sendOn(transport, this.generation, outgoing);
  }

  private pendingOf(message: JsonRpcMessage): Pending | undefined {
    return "method" in message && "id" in message ? this.options.requests.get(message.id) : undefined;
  }

  private sendOn(transport: UpstreamTransport, generation: number, outgoing: Outgoing): void {
    const entry = this.pendingOf(outgoing.message);
    if (entry) {
      entry.sentOn = generation;
      entry.accepted = false;
    }
    transport.send(outgoing.message, outgoing.text, outgoing.bytes).then(
      () => {
        if (entry) entry.accepted = true;
      },
      (error: unknown) => this.sendFailed(outgoing, entry, generation, error),
    );
  }

  /** Each send reports its own fate: resent if the daemon never saw it, answered with an error otherwise. */
  private sendFailed(outgoing: Outgoing, entry: Pending | undefined, generation: number, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const current = entry !== undefined && this.options.requests.isOpen(entry) && entry.sentOn === generation;
    if (entry && !current) return; // cancelled, or already answered
    if (this.draining.has(generation)) return this.drainingSendFailed(outgoing, entry, generation, reason, error);
    if (needsNewSession(error)) this.sessionLost(generation, reason);
    if (error instanceof UpstreamError && !error.delivered && needsNewSession(error) && (outgoing.resent ?? 0) < MAX_RESENDS) {
      // The daemon never saw it: out again on the rebuilt session, and the client never knows.
      if (entry) entry.sentOn = undefined;
      outgoing.resent = (outgoing.resent ?? 0) + 1;
      this.send(outgoing);
      return;
    }
    if (entry) {
      const unseen = error instanceof UpstreamError && !error.delivered;
      const lost = needsNewSession(error) && !unseen ? lostWhileRunning(this.upstream, reason) : reason;
      this.options.requests.fail(entry, lost);
    } else {
      this.options.log(`${this.upstream} refused a ${"method" in outgoing.message ? outgoing.message.method : "response"}: ${reason}`);
    }
  }

  /** The daemon session of `generation` is gone: fail what it had, then rebuild. */
  private sessionLost(generation: number, reason: string): void {
    if (this.draining.has(generation)) return this.drainEnded(generation, reason);
    if (generation !== this.generation || this.closing) return;
    this.generation += 1;
    const lost = this.transport;
    this.transport = undefined;
    if (lost) this.retire(lost);
    this.options.log(`${this.upstream} session lost: ${reason}`);
    this.replayWaiter?.reject(new Error(`the ${this.upstream} session was lost again (${reason})`));
    // Requests whose answers were to come on the lost session's event stream.
    for (const entry of this.options.requests.entries()) {
      if (entry.sentOn === generation && entry.accepted) {
        this.options.requests.fail(entry, lostWhileRunning(this.upstream, reason));
      }
    }
    // Rebuild at once, so notifications resume and the next call does not wait for a handshake.
    if (this.sessionInitialized) void this.ensureConnected();
  }

  /** A lost session: calls still in flight there may yet be answered on their own exchanges, then it closes. */
  private retire(transport: UpstreamTransport): void {
    if (!transport.retire) return void transport.close(0);
    transport.retire();
    this.retired.add(transport);
    if (this.retired.size > MAX_RETIRED) {
      const oldest = this.retired.values().next().value!;
      this.retired.delete(oldest);
      void oldest.close(0);
    }
  }

  private ensureConnected(): Promise<void> {
    if (this.transport || this.closing) return Promise.resolve();
    if (this.connecting) return this.connecting;
    const connecting = this.connect().finally(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    this.connecting = connecting;
    return connecting;
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    // For reaching the upstream at all (a daemon coming up); the new session's own setup has a bound of its own.
    const deadline = Date.now() + this.options.handshakeTimeoutMs;
    let transport: UpstreamTransport | undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        transport = await this.options.connect();
        const ownDaemon = transport.ownDaemon === true;
        transport.onmessage = (message, text, bytes) => this.fromDaemon(generation, ownDaemon, message, text, bytes);
        transport.onlargeanswer = (id, pieces) => this.takeLargeAnswer(generation, id, pieces);
        transport.onlost = (reason) => this.sessionLost(generation, reason);
        this.settingUp = transport;
        if (this.closing) throw new Error(`the link to the ${this.upstream} is closing`);
        const setUpBy = Date.now() + this.options.handshakeTimeoutMs;
        await this.withinDeadline(transport.start(), setUpBy, "did not open its session");
        if (this.sessionInitialized) await this.replayHandshake(transport, generation, setUpBy);
        this.settingUp = undefined;
        break;
      } catch (error) {
        this.settingUp = undefined;
        void transport?.close(0);
        transport = undefined;
        const reason = error instanceof Error ? error.message : String(error);
        // A daemon that is dying or still coming up refuses connections for a moment: try again until the
        // start deadline. Anything else (bad config, a daemon that failed to start) is final for this attempt.
        if (needsNewSession(error) && Date.now() < deadline && !this.closing && generation === this.generation) {
          await sleep(Math.min(50 * 2 ** attempt, 1000));
          continue;
        }
        this.options.log(`cannot connect: ${reason}`);
        this.failQueued(reason);
        return;
      }
    }
    if (this.closing || generation !== this.generation) {
      // Lost again while being set up (a flapping daemon): try once more shortly, the queue still waits.
      void transport.close(0);
      if (!this.closing) setTimeout(() => void this.ensureConnected(), RETRY_AFTER_LOSS_MS);
      return;
    }
    this.transport = transport;
    // Set up: a session lost from here on (even by a send of the queue below) is rebuilt by a connect of its own.
    this.connecting = undefined;
    if (this.paused) transport.pause?.();
    for (const outgoing of this.queue.takeAll()) this.sendOn(transport, generation, outgoing);
  }

  /** `step` settled by `deadline`, or an error that says what the upstream did not do in time. */
  private async withinDeadline<T>(step: Promise<T>, deadline: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const ms = Math.max(0, deadline - Date.now());
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the ${this.upstream} ${what} within ${this.options.handshakeTimeoutMs} ms`)), ms);
    });
    try {
      return await Promise.race([step, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async replayHandshake(transport: UpstreamTransport, generation: number, deadline: number): Promise<void> {
    const original = this.initialize!.message as JsonRpcRequest;
    const id = `${REINIT_ID_PREFIX}${generation}`;
    const answered = new Promise<JsonRpcResponse>((resolve, reject) => {
      this.replayWaiter = { id, resolve, reject };
    });
    try {
      // The answer may come before the send settles (inside its POST), or the session be lost while it hangs (a
      // server that takes connections and never answers): whichever comes first decides, within the bound.
      const exchange = Promise.race([transport.send({ ...original, id }).then(() => answered), answered]);
      const response = await this.withinDeadline(exchange, deadline, "did not answer the replayed initialize");
      if ("error" in response) throw new Error(`${this.upstream} refused the replayed initialize: ${response.error.message}`);
      this.options.log(`re-initialized the ${this.upstream} session (protocol ${String(response.result.protocolVersion)})`);
      if (this.initialized) {
        const sent = transport.send(this.initialized.message, this.initialized.text);
        await this.withinDeadline(sent, deadline, "did not take the replayed initialized notice");
      }
      // A restarted server may offer different tools or resources: let the client refresh what it caches.
      for (const notification of listChangedNotifications(response.result)) this.options.write(JSON.stringify(notification), notification);
    } finally {
      this.replayWaiter = undefined;
    }
  }

  private refuseQueued({ message }: Outgoing, why: string): void {
    const reason = `${why} for the ${this.upstream}`;
    const entry = this.pendingOf(message);
    if (entry) this.options.requests.fail(entry, reason);
    else this.options.log(`dropped a ${"method" in message ? message.method : "response"}: ${reason}`);
  }

  private failQueued(reason: string): void {
    for (const { message } of this.queue.takeAll()) {
      const entry = this.pendingOf(message);
      if (entry) this.options.requests.fail(entry, reason);
      else if ("method" in message) this.options.log(`dropped ${message.method}: no ${this.upstream} to deliver it to`);
    }
  }

  private fromDaemon(generation: number, ownDaemon: boolean, message: JsonRpcMessage, text: string, bytes?: Buffer): void {
    // Only our own daemon is replaced this way: from anyone else the notice is just a notification.
    if (ownDaemon && isDrainNotice(message)) return this.drainStarted(generation, message);
    if ("method" in message) {
      // Server request or notification (progress, logging, sampling...); from a session already given up
      // on, any answer would go to the wrong session.
      if (generation !== this.generation && !this.draining.has(generation)) return;
      if ("id" in message) {
        this.askedBy.set(idKey(message.id), generation);
        if (this.askedBy.size > MAX_ASKED) this.askedBy.delete(this.askedBy.keys().next().value!);
      }
      this.options.write(bytes ? [bytes] : text, message);
      return;
    }
    const id = message.id;
    if (id === null) return this.options.log(`${this.upstream} sent an error without an id: ${text.slice(0, 300)}`);
    if (this.replayWaiter?.id === id) {
      const waiter = this.replayWaiter;
      this.replayWaiter = undefined;
      return waiter.resolve(message);
    }
    const entry = this.sentOn(generation, id);
    if (!entry) {
      // Cancelled, already answered, or never asked: an unknown id makes clients drop the connection.
      return this.options.log(`dropped a response for id ${JSON.stringify(id)} that no pending request has`);
    }
    if (entry.method === "initialize" && "result" in message) this.sessionInitialized = true;
    this.answer(generation, entry, bytes ? [bytes] : text, message);
  }

  /** The client's open request `id`, when it was sent on the daemon session of `generation`. */
  private sentOn(generation: number, id: RequestId): Pending | undefined {
    const entry = this.options.requests.get(id);
    return entry?.sentOn === generation ? entry : undefined;
  }

  /** Gives the client its answer; a draining session is closed once nothing it was sent waits any more. */
  private answer(generation: number, entry: Pending, line: string | Buffer[], message?: JsonRpcMessage): void {
    this.options.requests.answer(entry, line, message);
    if (this.draining.has(generation)) this.closeIfDone(generation);
  }

  /**
   * A large answer the transport did not parse: taken when it answers a request of the client's sent on this
   * session, other than its initialize (whose result the proxy reads); anything else is parsed as usual.
   */
  private takeLargeAnswer(generation: number, id: RequestId, pieces: Buffer[]): boolean {
    if (this.replayWaiter?.id === id) return false;
    const entry = this.sentOn(generation, id);
    if (!entry || entry.method === "initialize") return false;
    this.answer(generation, entry, pieces);
    return true;
  }

  /**
   * The daemon of `generation` is being replaced: what comes next goes to a new session (with the new daemon,
   * the handshake replayed), while this one stays open for the answers still due from it.
   */
  private drainStarted(generation: number, notice: JsonRpcMessage): void {
    if (generation !== this.generation || this.closing) return;
    const said = "params" in notice ? (notice.params as { reason?: unknown } | undefined)?.reason : undefined;
    const reason = typeof said === "string" ? said.slice(0, 200) : "no reason given";
    this.options.log(`the daemon is being replaced (${reason}): new messages go to the new one`);
    this.generation += 1;
    const old = this.transport;
    this.transport = undefined;
    // Still connecting (its handshake under way): connect() sees the generation moved on and starts again.
    if (!old) return;
    this.draining.set(generation, old);
    this.closeIfDone(generation);
    if (this.sessionInitialized) void this.ensureConnected();
  }

  /**
   * A send to a daemon being replaced failed (it may listen no more). That session is not lost for it: what it
   * runs may still answer on connections already open. A request it never saw goes to the new daemon; a cancel
   * or an answer to one of its server requests is dropped (what it was about ends with the drain).
   */
  private drainingSendFailed(outgoing: Outgoing, entry: Pending | undefined, generation: number, reason: string, error: unknown): void {
    if (entry && error instanceof UpstreamError && !error.delivered) {
      entry.sentOn = undefined;
      this.send(outgoing);
    } else if (entry) {
      this.options.requests.fail(entry, reason);
    } else {
      this.options.log(
        `could not reach the daemon being replaced (${reason}); dropped a ${"method" in outgoing.message ? outgoing.message.method : "response"}`,
      );
    }
    this.closeIfDone(generation);
  }

  /** Closes a draining daemon session once none of the requests sent on it waits any more. */
  private closeIfDone(generation: number): void {
    const transport = this.draining.get(generation);
    if (!transport) return;
    if (this.options.requests.entries().some((entry) => entry.sentOn === generation)) return;
    this.draining.delete(generation);
    void transport.close(DRAINED_CLOSE_MS);
  }

  /** A draining daemon session ended (the drain timed out, or its daemon died): what it still had fails. */
  private drainEnded(generation: number, reason: string): void {
    const transport = this.draining.get(generation);
    this.draining.delete(generation);
    void transport?.close(0);
    for (const entry of this.options.requests.entries()) {
      if (entry.sentOn === generation) {
        this.options.requests.fail(entry, lostWhileRunning(this.upstream, reason));
      }
    }
  }

  /** Ends the daemon session within `timeoutMs`; nothing is sent afterwards. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.queue.takeAll();
    // One still being set up ends at once: what it was waiting for (the server's first answer) fails with it.
    void this.settingUp?.close(0);
    const transport = this.transport;
    this.transport = undefined;
    const draining = [...this.draining.values()];
    this.draining.clear();
    for (const lost of this.retired) void lost.close(0);
    this.retired.clear();
    await Promise.all([transport?.close(timeoutMs), ...draining.map((old) => old.close(timeoutMs))]);
  }
}
