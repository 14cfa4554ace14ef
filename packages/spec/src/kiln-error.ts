/**
 * An error the user can act on: the CLI prints its message and hint on one line, without a stack.
 * Anything else reaching the CLI's error boundary is a bug and is printed with its stack.
 */
export class KilnError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KilnError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** The command line was wrong (exit code 2), as opposed to the input files (exit code 1). */
export class UsageError extends KilnError {
  constructor(message: string, hint?: string) {
    super(message, hint === undefined ? { exitCode: 2 } : { hint, exitCode: 2 });
    this.name = "UsageError";
  }
}
