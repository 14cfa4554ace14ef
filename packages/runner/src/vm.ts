import type { ChildProcess } from "node:child_process";
import { KilnError } from "@kiln/spec/errors";
import type { Accel } from "./accel.js";
import type { Boot } from "./boot.js";
import { FileTail } from "./file-tail.js";
import { probeTcp, waitUntil } from "./ports.js";
import type { PortSpec } from "./publish.js";
import type { QmpClient, QmpEvent } from "./qmp.js";
import type { StatePaths } from "./state-dir.js";
import { removeTempState } from "./temp-state.js";
import { VmError } from "./vm-error.js";

/** How a VM ended. */
export type ExitReason =
  /** The guest powered itself off (on its own, or after an ACPI request). */
  | "poweroff"
  /** The guest rebooted, which ends QEMU unless reboots are allowed. */
  | "reboot"
  /** The kernel panicked (seen on the console, or reported by a pvpanic device). */
  | "panic"
  /** QEMU was told to quit: Ctrl-A X, QMP `quit`, or a signal someone else sent. */
  | "quit"
  /** Killed: by kiln (`kill()`, or `stop()` after its timeout), or by a signal QEMU could not handle. */
  | "killed"
  /** QEMU exited with an error. */
  | "failed";

export interface VmExit {
  reason: ExitReason;
  /** The guest ended as a guest should: powered off, rebooted, or quit on purpose. */
  ok: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** QMP's SHUTDOWN reason (guest-shutdown, guest-reset, host-qmp-quit, host-signal...). */
  shutdownReason?: string;
  consoleTail: string[];
}

/** A published port with the host port actually bound. */
export type PublishedPort = PortSpec;

export interface VmTimings {
  /** ms since this process started (performance.now()) when startVm was called. */
  startCalled: number;
  /** ... when QEMU was spawned. */
  spawned: number;
  /** ... when QMP said the VM was running. */
  running: number;
}

const PANIC = /Kernel panic - not syncing/;
export const POWER_BUTTON_REPEAT_MS = 5000;
/** The console kept in memory; older text is dropped (it stays in console.log). */
const CONSOLE_KEEP = 4 << 20;

/** State a Vm is built from; startVm fills it in. */
export interface VmParts {
  name?: string;
  child: ChildProcess;
  qmp?: QmpClient;
  argv: string[];
  escapedCommand: string;
  paths: StatePaths;
  boot: Boot;
  accel: Accel;
  ports: PublishedPort[];
  notices: string[];
  detached: boolean;
  ownsState: boolean;
  stderr: () => string;
  timings: VmTimings;
  startedAt: number;
}

/**
 * A running VM. Wait on its console or ports, stop it (ACPI, then kill) or kill it; `await using`
 * kills it if it is still running and removes a state directory that startVm made for it.
 */
export class Vm implements AsyncDisposable {
  readonly name: string | undefined;
  readonly pid: number;
  readonly stateDir: string;
  readonly paths: StatePaths;
  /** The QEMU command, program first. */
  readonly command: readonly string[];
  /** The same, shell-quoted (also in STATE/qemu.cmdline). */
  readonly escapedCommand: string;
  readonly boot: Boot;
  readonly accel: Accel;
  readonly ports: readonly PublishedPort[];
  /** Notes startVm printed or would have (the accelerator fallback, disks created...). */
  readonly notices: readonly string[];
  readonly detached: boolean;
  readonly timings: VmTimings;
  /** Resolves when QEMU exits; never rejects. */
  readonly exited: Promise<VmExit>;

  readonly #parts: VmParts;
  readonly #tail: FileTail;
  #text = "";
  #dropped = 0;
  #panicked = false;
  #shutdownReason: string | undefined;
  #exit: VmExit | undefined;
  #killRequested = false;
  readonly #waiters = new Set<() => void>();

  constructor(parts: VmParts) {
    this.#parts = parts;
    this.name = parts.name;
    this.pid = parts.child.pid!;
    this.paths = parts.paths;
    this.stateDir = parts.paths.dir;
    this.command = parts.argv;
    this.escapedCommand = parts.escapedCommand;
    this.boot = parts.boot;
    this.accel = parts.accel;
    this.ports = parts.ports;
    this.notices = parts.notices;
    this.detached = parts.detached;
    this.timings = parts.timings;
    this.#tail = new FileTail(parts.paths.console, (t) => this.#append(t)).start();
    parts.qmp?.on("event", (e: QmpEvent) => {
      if (e.event === "SHUTDOWN") this.#shutdownReason = String(e.data?.reason ?? "");
      if (e.event === "GUEST_PANICKED") this.#panicked = true;
    });
    this.exited = new Promise<VmExit>((resolve) => {
      const onExit = async (code: number | null, signal: NodeJS.Signals | null) => {
        await this.#tail.stop();
        await parts.qmp?.close().catch(() => {});
        this.#exit = this.#describeExit(code, signal);
        resolve(this.#exit);
        this.#notify();
      };
      if (parts.child.exitCode !== null || parts.child.signalCode !== null) {
        void onExit(parts.child.exitCode, parts.child.signalCode);
      } else parts.child.once("exit", (code, signal) => void onExit(code, signal));
    });
  }

  #append(text: string): void {
    const overlap = this.#text.slice(-40);
    this.#text += text;
    if (PANIC.test(overlap + text)) this.#panicked = true;
    if (this.#text.length > CONSOLE_KEEP) {
      const cut = this.#text.length - CONSOLE_KEEP / 2;
      this.#text = this.#text.slice(cut);
      this.#dropped += cut;
    }
    this.#notify();
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** The console text so far (the last 2-4 MiB of it; all of it is in STATE/console.log). */
  get console(): string {
    return this.#text;
  }

  /** How many characters the console has printed, counting any dropped from memory. */
  get consoleLength(): number {
    return this.#dropped + this.#text.length;
  }

  /** The exit, once QEMU has exited. */
  get exitInfo(): VmExit | undefined {
    return this.#exit;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The last `n` non-empty console lines, with carriage returns and escape sequences removed. */
  consoleTail(n = 20): string[] {
    const lines = this.#text
      .slice(-64 * 1024)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are control characters
      .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g, "")
      .split("\n")
      .filter((l) => l.trim() !== "");
    return lines.slice(-n);
  }

  #describeExit(code: number | null, signal: NodeJS.Signals | null): VmExit {
    const r = this.#shutdownReason;
    let reason: ExitReason;
    if (this.#panicked || r === "guest-panic") reason = "panic";
    else if (this.#killRequested) reason = "killed";
    else if (signal !== null) reason = "killed";
    else if (code !== 0) reason = "failed";
    else if (r === "guest-shutdown") reason = "poweroff";
    else if (r === "guest-reset" || r === "host-qmp-system-reset") reason = "reboot";
    else reason = "quit";
    return {
      reason,
      ok: reason === "poweroff" || reason === "reboot" || reason === "quit",
      code,
      signal,
      durationMs: Date.now() - this.#parts.startedAt,
      ...(r ? { shutdownReason: r } : {}),
      consoleTail: this.consoleTail(),
    };
  }

  /** A VmError for this VM, with its command, exit and console tail. */
  error(message: string, options: { timedOut?: boolean; hint?: string } = {}): VmError {
    const e = this.#exit;
    return new VmError(
      message,
      {
        escapedCommand: this.escapedCommand,
        qemuExitCode: e?.code ?? null,
        signal: e?.signal ?? null,
        durationMs: e?.durationMs ?? Date.now() - this.#parts.startedAt,
        consoleTail: this.consoleTail(),
        qemuStderr: this.#parts.stderr(),
        timedOut: options.timedOut ?? false,
        stateDir: this.stateDir,
      },
      options.hint === undefined ? {} : { hint: options.hint },
    );
  }

  /** The exit as a VmError when it was not ok (for `kiln run`'s exit status), else undefined. */
  exitError(exit: VmExit): VmError | undefined {
    if (exit.ok) return undefined;
    const panicLine = /Kernel panic - not syncing: ?([^\r\n]*)/.exec(this.#text)?.[1]?.trim();
    const what: Record<ExitReason, string> = {
      poweroff: "",
      reboot: "",
      quit: "",
      panic: `the guest kernel panicked${panicLine ? `: ${panicLine}` : ""}`,
      killed: exit.signal ? `QEMU was killed by ${exit.signal}` : "the VM was killed",
      failed: `QEMU failed (exit code ${exit.code})`,
    };
    return this.error(what[exit.reason]);
  }

  /**
   * Wait until the console shows `pattern` (searched from the start of the console, or from `from`, a
   * `consoleLength` taken earlier) and return the match. Only complete lines are searched: the serial port
   * delivers a line in pieces, and a pattern ending in `\S+` or `.*` would otherwise capture half of one (a
   * password cut short failed an e2e boot). Fails with a VmError if the VM exits first or `timeoutMs` passes.
   */
  waitForConsole(
    pattern: RegExp | string,
    options: { timeoutMs?: number; from?: number } = {},
  ): Promise<RegExpExecArray> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const re =
      typeof pattern === "string"
        ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        : new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
    return new Promise((resolve, reject) => {
      const check = () => {
        const start = Math.max(0, (options.from ?? 0) - this.#dropped);
        // Once QEMU is gone the last line is as complete as it will ever be.
        const end = this.#exit ? this.#text.length : this.#text.lastIndexOf("\n") + 1;
        const m = end > start ? re.exec(this.#text.slice(start, end)) : null;
        if (m) return done(undefined, m);
        if (this.#exit)
          done(this.error(`the VM exited (${this.#exit.reason}) before ${re} appeared on its console`));
      };
      const timer = setTimeout(() => {
        void this.#tail.poll().then(() => {
          check();
          done(this.error(`${re} did not appear on the console within ${timeoutMs} ms`, { timedOut: true }));
        });
      }, timeoutMs);
      const done = (err?: Error, m?: RegExpExecArray) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve(m!);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /**
   * Wait until the guest answers on `guestPort` through its published host port (see probeTcp for what
   * counts as answering). HTTP services want more than that: callers can poll their own URL after it.
   */
  async waitForPort(
    guestPort: number,
    options: { timeoutMs?: number; protocol?: "tcp" } = {},
  ): Promise<{ host: string; port: number }> {
    const p = this.ports.find((x) => x.guestPort === guestPort && x.protocol === (options.protocol ?? "tcp"));
    if (!p)
      throw new KilnError(`guest port ${guestPort} is not published`, {
        hint: `publish it: --publish ${guestPort}:${guestPort}`,
      });
    const host = p.hostAddress === "0.0.0.0" ? "127.0.0.1" : p.hostAddress === "::" ? "::1" : p.hostAddress;
    const timeoutMs = options.timeoutMs ?? 120_000;
    const ok = await waitUntil(() => probeTcp(host, p.hostPort), { timeoutMs, giveUp: () => !this.running });
    if (ok) return { host, port: p.hostPort };
    if (!this.running) throw this.error(`the VM exited before guest port ${guestPort} answered`);
    throw this.error(
      `guest port ${guestPort} (host ${host}:${p.hostPort}) did not answer within ${timeoutMs} ms`,
      { timedOut: true },
    );
  }

  /** Run a QMP command on the VM's own QMP connection. */
  qmp<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    const q = this.#parts.qmp;
    if (!q || q.isClosed)
      return Promise.reject(new KilnError(`QMP ${command}: the VM has no open QMP connection`));
    return q.execute<T>(command, args);
  }

  /**
   * ACPI power-down over QMP; if the guest has not powered off after `timeoutMs`, kill QEMU. The button
   * is pressed again every 5 s: a press before the guest listens for it (early in boot) is lost.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<VmExit> {
    if (this.#exit) return this.#exit;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const press = () => void this.qmp("system_powerdown").catch(() => {});
    press();
    const again = setInterval(press, POWER_BUTTON_REPEAT_MS);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), timeoutMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    clearInterval(again);
    if (first === "timeout") return this.kill();
    return first;
  }

  /** SIGTERM to QEMU (it exits at once, flushing its disks), SIGKILL 3 s later if it has not. */
  async kill(): Promise<VmExit> {
    if (this.#exit) return this.#exit;
    this.#killRequested = true;
    const send = (sig: NodeJS.Signals) => {
      try {
        process.kill(this.pid, sig);
      } catch {}
    };
    send("SIGTERM");
    const t = setTimeout(() => send("SIGKILL"), 3000);
    const exit = await this.exited;
    clearTimeout(t);
    return exit;
  }

  /** Stop following the VM without stopping it (for detached VMs). */
  async release(): Promise<void> {
    await this.#tail.stop();
    await this.#parts.qmp?.close().catch(() => {});
    this.#parts.child.unref();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.detached) await this.release();
    else if (!this.#exit) await this.kill();
    if (this.#parts.ownsState) await removeTempState(this.stateDir);
  }
}
