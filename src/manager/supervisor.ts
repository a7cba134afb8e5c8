import type { ManagerSettings } from "../config/manager-settings.js";
import type { ServerConfig } from "../config/server-config.js";
import { logPath } from "../config/paths.js";
import { rotateLog } from "../logging/rotate.js";
import { isSameProcess } from "../process/process-identity.js";
import { killTree } from "../process/terminate.js";
import { RestartHistory } from "../runtime/restart-history.js";
import { VERSION } from "../version.js";
import { isOlderThanThis } from "../runtime/version-order.js";
import { RestartPolicy } from "../runtime/restart-policy.js";
import { daemonActivity, probeDaemon, troubledChild, type ProvenDaemon } from "../runtime/daemon-health.js";
import { findDaemon } from "../runtime/find-daemon.js";
import { canDrain, portHeldHere } from "../config/server-config.js";
import { startDaemon } from "../runtime/start-daemon.js";
import { reapOrphanedChildren, stopDaemon } from "../runtime/stop-daemon.js";
import { drainDaemon } from "../runtime/drain-daemon.js";
import { PortTaken, type DaemonAddress, type RunningDaemon } from "../runtime/daemon-address.js";
import { addHealth, configuredReport, withUrl, type DaemonReport } from "./daemon-state.js";
import { isListening } from "../runtime/port-probe.js";
import { clearStopped, markStopped, readStopped, stoppedMessage } from "../runtime/stop-marker.js";

/** `foreign`: its configured port is held by a process that is not its daemon; it starts once the port is free. */
export type SupervisedState = "stopped" | "starting" | "running" | "backing-off" | "failed" | "foreign";

/** A request the supervisor turns down, with the HTTP status the API answers it with. */
export class SupervisorRefusal extends Error {
  override name = "SupervisorRefusal";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SupervisionContext {
  home: string;
  configFile?: string;
  settings: ManagerSettings;
  log: (line: string) => void;
}

/** Health checks missed in a row before a daemon that still runs is presumed hung and restarted. */
const HEALTH_STRIKES = 3;
/** How often an adopted daemon (not our child, so no exit event) is checked for life. */
const LIVENESS_MS = 1000;
/** A drained daemon has this long past its drain timeout to end its last sessions and exit. */
const RETIRE_GRACE_MS = 10_000;

interface Waiter {
  resolve: (address: DaemonAddress) => void;
  reject: (error: Error) => void;
}

/**
 * One configured server under the manager's care: started on demand or on request, watched (exit events for
 * daemons it spawned, a liveness poll for those it adopted, health checks on an interval), restarted with
 * exponential backoff, and given up on as `failed` after `restartLimit` crashes in a row, so that proxies get
 * an answer naming the log instead of waiting forever.
 */
export class SupervisedDaemon {
  private state: SupervisedState = "stopped";
  private daemon: RunningDaemon | undefined;
  /** Whether the daemon should be running: false after a stop, so its exit is not a crash. */
  private wanted = false;
  private runningSince = 0;
  private restarts = 0;
  /** Restarts and why: crashes, health, and restarts asked for (run-manager records config edits here too). */
  readonly history = new RestartHistory();
  private readonly policy: RestartPolicy;
  private lastError: string | undefined;
  private lastHealth: ProvenDaemon | undefined;
  private healthStrikes = 0;
  private launching: Promise<void> | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private operations: Promise<unknown> = Promise.resolve();

  constructor(
    public server: ServerConfig,
    private readonly context: SupervisionContext,
  ) {
    this.policy = new RestartPolicy({ limit: context.settings.restartLimit, backoffMs: context.settings.restartBackoffMs });
  }

  get name(): string {
    return this.server.name;
  }

  /**
   * Takes over a daemon that already runs (started by a proxy, or under a previous manager). One of another
   * version (the package was upgraded since it started) is then replaced gracefully by one of ours.
   */
  async adopt(): Promise<void> {
    if (this.state !== "stopped") return;
    const found = await findDaemon(this.server, this.context.home);
    if (found && this.state === "stopped") {
      this.wanted = true;
      this.log(`adopted the running daemon (pid ${found.pid})`);
      this.becameRunning(found);
      await this.upgrade().catch((error: Error) => this.log(`not upgraded: ${error.message}`));
    }
  }

  /** The version the running daemon reports, when it is ours and answers. */
  async runningVersion(): Promise<string | undefined> {
    const daemon = this.daemon;
    if (!daemon || this.state !== "running") return undefined;
    return (await this.probe(daemon)) ? this.lastHealth?.version : undefined;
  }

  /** Replaces the running daemon gracefully if it runs an earlier version than this manager; says from which. */
  upgrade(): Promise<string | undefined> {
    return this.serially(async () => {
      const version = await this.runningVersion();
      if (version === undefined || !isOlderThanThis(version)) return undefined;
      this.log(`its daemon runs version ${version}: replacing it with ${VERSION}`);
      await this.restartNow(`upgraded from ${version} to ${VERSION}`);
      return version;
    });
  }

  /** The manager hands over to another (an upgrade): the daemon keeps running, and nothing here watches it any more. */
  letGo(): void {
    clearTimeout(this.backoffTimer);
    this.forgetDaemon();
    this.wanted = false;
    this.state = "stopped";
  }

  /**
   * What a proxy asks for: the daemon's address, started if needed; never a daemon stopped on purpose. A daemon
   * started here is told the asking session's project, to start that session's child ahead (spare-child.ts).
   */
  async ensure(project?: string): Promise<DaemonAddress> {
    this.refuseUnmanageable();
    if (this.state === "failed") throw new SupervisorRefusal(503, this.failedMessage());
    if (this.state === "foreign") throw new SupervisorRefusal(503, this.lastError!);
    const stopped = readStopped(this.name, this.context.home);
    if (stopped && !this.isUp()) throw new SupervisorRefusal(409, stoppedMessage(this.name, stopped));
    return this.bringUp(project);
  }

  /** What a user asks for: lifts a deliberate stop and a `failed` state, then brings the daemon up. */
  start(): Promise<DaemonAddress> {
    return this.serially(() => this.startNow());
  }

  private async startNow(): Promise<DaemonAddress> {
    this.refuseUnmanageable();
    clearStopped(this.name, this.context.home);
    if (this.state === "failed" || this.state === "foreign") {
      this.state = "stopped";
      this.policy.reset();
    }
    // A daemon that runs while its server gave up, or waits out a delay before restarting it, is started afresh:
    // that is what "start" promises after a fix.
    if (
      this.isUp() &&
      this.daemon &&
      (await this.probe(this.daemon)) &&
      this.lastHealth !== undefined &&
      troubledChild(this.lastHealth) !== undefined
    ) {
      // Its other children may still serve sessions: replaced gracefully, as any restart.
      this.log("its server had failed or was waiting to be restarted: replacing the daemon so that it tries now");
      return this.restartNow("its server had failed or was waiting to be restarted; restarted by mcp-manager start");
    }
    return this.bringUp();
  }

  /** Stops the daemon and its whole process group; with `mark`, proxies will not start it again. */
  stop(mark: { by: string } | undefined): Promise<void> {
    return this.serially(() => this.stopNow(mark));
  }

  private async stopNow(mark: { by: string } | undefined): Promise<void> {
    this.wanted = false;
    clearTimeout(this.backoffTimer);
    if (mark) markStopped(this.name, this.context.home, mark.by);
    await this.launching; // a start under way sees `wanted` is false and undoes itself
    const daemon = this.daemon ?? (await findDaemon(this.server, this.context.home));
    this.forgetDaemon();
    if (daemon) {
      this.log(`stopping the daemon (pid ${daemon.pid})`);
      await stopDaemon(this.server, this.context.home, daemon.pid);
    }
    this.state = "stopped";
    this.settle(new SupervisorRefusal(409, `daemon "${this.name}" was stopped`));
  }

  /**
   * Replaces the daemon, under `updated` when its entry changed. Our
   * daemon that runs is replaced gracefully: it drains (no new sessions; the calls in flight finish, for up to
   * `drainTimeoutMs`) while the new one already serves, and proxies move over without their clients noticing.
   * Anything else is stopped, then started. `why` goes to the restart history and to the old daemon's sessions.
   */
  restart(why: string, updated?: ServerConfig): Promise<DaemonAddress> {
    return this.serially(() => this.restartNow(why, updated));
  }

  private async restartNow(why: string, updated?: ServerConfig): Promise<DaemonAddress> {
    if (!updated) this.refuseUnmanageable();
    this.history.record(why);
    // Drained while its successor starts, where the two can overlap: not an HTTP server, which holds its port.
    const old = this.isUp() && canDrain(this.server) && (!updated || canDrain(updated)) ? this.daemon : undefined;
    if (old) return this.replace(old, why, updated);
    await this.stopNow(undefined);
    if (updated) this.server = updated;
    return this.startNow();
  }

  /**
   * Starts, stops, restarts and upgrades asked for (by users, config edits, the page) run one after the other:
   * a second restart waits for the replacement under way instead of stopping the daemon it is starting.
   */
  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.operations.then(work);
    this.operations = next.catch(() => {});
    return next;
  }

  private async replace(old: RunningDaemon, reason: string, updated: ServerConfig | undefined): Promise<DaemonAddress> {
    clearStopped(this.name, this.context.home);
    this.policy.reset();
    this.wanted = true;
    this.forgetDaemon(); // its exit is no crash now
    // Proxies asking meanwhile wait for the new daemon, as for any start.
    this.state = "starting";
    const outcome = new Promise<DaemonAddress>((resolve, reject) => this.waiters.push({ resolve, reject }));
    const drainTimeoutMs = this.server.drainTimeoutMs;
    if (await drainDaemon(old.address, this.name, this.context.home, reason)) {
      this.log(`the daemon (pid ${old.pid}) drains: its calls in flight finish while the new one serves`);
      this.retire(old, drainTimeoutMs);
    } else {
      this.log(`the daemon (pid ${old.pid}) did not drain (no answer, or a version without drains): stopping it`);
      await stopDaemon(this.server, this.context.home, old.pid);
    }
    if (updated) this.server = updated;
    if (!this.wanted) {
      this.state = "stopped"; // stopped meanwhile
      this.settle(new SupervisorRefusal(409, `daemon "${this.name}" was stopped`));
    } else if (this.server.disabled) {
      this.state = "stopped";
      this.settle(new SupervisorRefusal(409, `server "${this.name}" is disabled in the config ("disabled": true)`));
    } else this.launch();
    return outcome;
  }

  /**
   * A drained daemon exits by itself once its sessions moved on; past its drain timeout (and a grace), it is
   * killed. Once it is gone, however it went, what it left running (its children are in their own process
   * groups) is stopped.
   */
  private retire(old: RunningDaemon, drainTimeoutMs: number): void {
    const deadline = Date.now() + drainTimeoutMs + RETIRE_GRACE_MS;
    let killed = false;
    const check = setInterval(() => {
      if (!isSameProcess(old.pid, old.pidStarted)) {
        clearInterval(check);
        return reapOrphanedChildren(this.name, this.context.home);
      }
      if (killed || Date.now() < deadline) return;
      killed = true;
      this.log(`the drained daemon (pid ${old.pid}) is still there after its drain timeout: killing it`);
      killTree(old.pid);
    }, LIVENESS_MS);
    check.unref();
  }

  /** The manager is exiting: it stops what it started and leaves the daemons it adopted running. */
  async release(): Promise<void> {
    clearTimeout(this.backoffTimer);
    if (this.daemon?.child) await this.stopNow(undefined); // spawned by this manager (adopted ones have no child)
    this.forgetDaemon();
    this.wanted = false;
  }

  /** One supervision round: health of a running daemon, log size, a port taken by a stranger freed. */
  async check(): Promise<void> {
    rotateLog(logPath(this.name, this.context.home), { maxBytes: this.context.settings.logMaxBytes, keep: this.context.settings.logFiles });
    const held = portHeldHere(this.server);
    if (this.state === "foreign" && this.wanted && held && !(await isListening(new URL(held.url)))) {
      this.log(`port ${held.port} is free again: starting`);
      this.launch();
      return;
    }
    const daemon = this.daemon;
    if (this.state !== "running" || !daemon) return;
    if (await this.probe(daemon)) {
      this.healthStrikes = 0;
      return;
    }
    if (daemon !== this.daemon) return;
    this.healthStrikes += 1;
    this.log(`health check failed (${this.healthStrikes} of ${HEALTH_STRIKES} in a row)`);
    if (this.healthStrikes >= HEALTH_STRIKES) {
      this.lastError = `stopped answering health checks (${HEALTH_STRIKES} in a row); killed and restarted`;
      this.log(this.lastError);
      this.history.record(this.lastError);
      killTree(daemon.pid); // the exit (event or liveness poll) restarts it
    }
  }

  /** The state as supervision last saw it, asking nobody. */
  knownState(): DaemonReport["state"] {
    return this.server.disabled && this.state === "stopped" ? "disabled" : this.state;
  }

  /** The status row: the manager's view, with what the daemon's own `/health` says about its server. */
  async report(): Promise<DaemonReport> {
    const report = await configuredReport(this.server, this.context.home);
    report.state = this.server.disabled && this.state === "stopped" ? "disabled" : this.state;
    report.restarts = this.restarts;
    report.restartLog = this.history.list();
    if (this.lastError) report.lastError = this.lastError;
    const daemon = this.daemon;
    if (daemon && this.state === "running") {
      report.pid = daemon.pid;
      withUrl(report, daemon.address.url.href);
      report.uptimeMs = Date.now() - this.runningSince;
      await this.probe(daemon);
      const health = this.lastHealth;
      if (health) addHealth(report, health, await daemonActivity(health));
    }
    return report;
  }

  private refuseUnmanageable(): void {
    if (this.server.disabled) throw new SupervisorRefusal(409, `server "${this.name}" is disabled in the config ("disabled": true)`);
  }

  private isUp(): boolean {
    return this.state === "running" && this.daemon !== undefined && isSameProcess(this.daemon.pid, this.daemon.pidStarted);
  }

  private bringUp(firstProject?: string): Promise<DaemonAddress> {
    this.wanted = true;
    if (this.state === "running") {
      if (this.isUp()) return Promise.resolve(this.daemon!.address);
      // An adopted daemon noticed gone before the liveness poll: restart now. One we spawned restarts on its
      // exit event, which is on its way; the caller waits for that restart.
      if (this.daemon && !this.daemon.child) this.exited(this.daemon, "is gone");
    }
    const outcome = new Promise<DaemonAddress>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.state === "stopped") this.launch(firstProject);
    return outcome; // starting or backing off: the outcome of the attempt under way
  }

  private launch(firstProject?: string): void {
    this.state = "starting";
    this.launching = (async () => {
      try {
        const started = await startDaemon(this.server, {
          home: this.context.home,
          log: (line) => this.log(line),
          deadline: Date.now() + this.server.startTimeoutMs,
          rotation: { maxBytes: this.context.settings.logMaxBytes, keep: this.context.settings.logFiles },
          ...(this.context.configFile ? { configFile: this.context.configFile } : {}),
          ...(firstProject ? { firstProject } : {}),
        });
        if (!this.wanted) {
          await stopDaemon(this.server, this.context.home, started.pid);
          this.state = "stopped";
          return;
        }
        this.becameRunning(started);
      } catch (error) {
        if (error instanceof PortTaken && this.wanted) this.portTaken(error.message);
        else this.crashed((error as Error).message, 0);
      } finally {
        this.launching = undefined;
      }
    })();
  }

  private becameRunning(daemon: RunningDaemon): void {
    this.daemon = daemon;
    this.state = "running";
    this.runningSince = Date.now();
    this.healthStrikes = 0;
    this.lastHealth = undefined;
    this.log(`running (pid ${daemon.pid}, ${daemon.address.url.href}${daemon.child ? "" : ", started elsewhere"})`);
    this.settle(daemon.address);
    const child = daemon.child;
    if (child) {
      // Ours: its exit event says how it ended, and always comes.
      const exited = () => this.exited(daemon, `exited (${child.signalCode ?? `code ${child.exitCode}`})`);
      if (child.exitCode !== null || child.signalCode !== null) return exited();
      child.once("exit", exited);
      return;
    }
    this.livenessTimer = setInterval(() => {
      if (!isSameProcess(daemon.pid, daemon.pidStarted)) this.exited(daemon, "is gone");
    }, LIVENESS_MS);
    this.livenessTimer.unref();
  }

  private exited(daemon: RunningDaemon, reason: string): void {
    if (daemon !== this.daemon) return;
    const ranFor = Date.now() - this.runningSince;
    this.forgetDaemon();
    if (!this.wanted || this.state !== "running") return;
    this.crashed(`the daemon ${reason}`, ranFor);
  }

  /** Not a crash: nothing of ours failed, and restarting would fail the same way until the stranger goes. */
  private portTaken(reason: string): void {
    this.lastError = reason;
    this.state = "foreign";
    this.log(`${reason}; starting it once the port is free`);
    this.settle(new SupervisorRefusal(503, reason));
  }

  /** A start failed or a running daemon died: back off and try again, or give up as `failed`. */
  private crashed(reason: string, ranFor: number): void {
    this.lastError = reason;
    this.log(reason);
    if (!this.wanted) {
      this.state = "stopped";
      this.settle(new SupervisorRefusal(409, `daemon "${this.name}" was stopped`));
      return;
    }
    const decision = this.policy.crashed(ranFor);
    const failures = this.policy.failuresInARow;
    if (!decision.restart) {
      this.state = "failed";
      this.log(`giving up after ${failures} failures in a row: ${reason}`);
      this.history.record(`${reason}; gave up after ${failures} failures in a row`);
      this.settle(new SupervisorRefusal(503, this.failedMessage()));
      return;
    }
    const delay = decision.delayMs;
    this.state = "backing-off";
    this.history.record(`${reason}; restarted after ${delay} ms`);
    this.log(`restarting in ${delay} ms (failure ${failures} of at most ${this.context.settings.restartLimit + 1})`);
    this.backoffTimer = setTimeout(() => {
      if (!this.wanted || this.state !== "backing-off") return;
      this.restarts += 1;
      this.launch();
    }, delay);
  }

  private async probe(daemon: RunningDaemon): Promise<boolean> {
    const health = await probeDaemon(daemon.address, this.name, this.context.home, { pid: daemon.pid });
    if (health && daemon === this.daemon) this.lastHealth = health;
    return health !== undefined;
  }

  private forgetDaemon(): void {
    clearInterval(this.livenessTimer);
    this.daemon = undefined;
  }

  private failedMessage(): string {
    return (
      `daemon "${this.name}" failed ${this.policy.failuresInARow} times in a row and is not restarted any more ` +
      `(last: ${this.lastError ?? "unknown"}); see ${logPath(this.name, this.context.home)}, fix the cause, then: mcp-manager start ${this.name}`
    );
  }

  private settle(outcome: DaemonAddress | Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (outcome instanceof Error) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  private log(line: string): void {
    this.context.log(`${this.name}: ${line}`);
  }
}
