import { KilnError } from "@kiln/spec/errors";

/** What a failed or timed-out VM leaves behind for the person reading the error. */
export interface VmErrorDetails {
  /** The QEMU command line, shell-quoted so it can be pasted into a terminal. */
  escapedCommand: string;
  qemuExitCode?: number | null;
  signal?: NodeJS.Signals | null;
  durationMs: number;
  /** The last lines of the serial console. */
  consoleTail: string[];
  /** What QEMU itself printed on stderr (start-up errors live here). */
  qemuStderr?: string;
  timedOut?: boolean;
  stateDir?: string;
}

/**
 * A VM failed: QEMU could not start or exited badly, the guest panicked, or something it was waited for
 * never came. `shortMessage` is one line; `message` adds the command, the exit and the console tail.
 */
export class VmError extends KilnError implements VmErrorDetails {
  readonly shortMessage: string;
  readonly escapedCommand: string;
  readonly qemuExitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly durationMs: number;
  readonly consoleTail: string[];
  readonly qemuStderr: string;
  readonly timedOut: boolean;
  readonly stateDir: string | undefined;

  constructor(
    shortMessage: string,
    details: VmErrorDetails,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(renderVmError(shortMessage, details), {
      hint:
        options.hint ??
        (details.stateDir ? `the whole console is in ${details.stateDir}/console.log` : undefined),
      cause: options.cause,
    });
    this.name = "VmError";
    this.shortMessage = shortMessage;
    this.escapedCommand = details.escapedCommand;
    this.qemuExitCode = details.qemuExitCode ?? null;
    this.signal = details.signal ?? null;
    this.durationMs = details.durationMs;
    this.consoleTail = details.consoleTail;
    this.qemuStderr = details.qemuStderr ?? "";
    this.timedOut = details.timedOut ?? false;
    this.stateDir = details.stateDir;
  }
}

function renderVmError(shortMessage: string, d: VmErrorDetails): string {
  const lines = [shortMessage];
  const exit =
    d.signal != null
      ? `killed by ${d.signal}`
      : d.qemuExitCode != null
        ? `exit code ${d.qemuExitCode}`
        : "still running";
  lines.push(`  qemu: ${exit}, after ${(d.durationMs / 1000).toFixed(1)} s`);
  lines.push(`  command: ${d.escapedCommand}`);
  const stderr = d.qemuStderr?.trim();
  if (stderr) lines.push("  qemu said:", ...stderr.split("\n").map((l) => `    ${l}`));
  if (d.consoleTail.length) {
    lines.push(`  last console lines:`, ...d.consoleTail.map((l) => `    ${l}`));
  } else {
    lines.push("  the console printed nothing");
  }
  return lines.join("\n");
}
