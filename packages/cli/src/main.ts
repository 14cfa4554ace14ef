#!/usr/bin/env node
import { availableParallelism } from "node:os";
import { formatIssue, KilnError, SpecError } from "@kiln/spec/errors";
import { CommanderError } from "commander";
import { commands } from "./commands/index.js";
import type { CommandContext, CommandDecl } from "./declare.js";
import { buildProgram } from "./program.js";

/**
 * The CLI's one error boundary. Known errors print one line with a hint and no stack;
 * anything else is a bug and is printed with its stack.
 */
export async function main(
  argv: readonly string[],
  ctx: CommandContext,
  decls: readonly CommandDecl[] = commands,
): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(decls, ctx, (c) => {
    exitCode = c;
  });
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; every other parse failure is a usage error.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof SpecError) {
      for (const issue of e.issues) ctx.stderr.write(`${formatIssue(issue)}\n`);
      const n = e.issues.length;
      ctx.stderr.write(`kiln: ${n} problem${n === 1 ? "" : "s"} found\n`);
      return e.exitCode;
    }
    if (e instanceof KilnError) {
      ctx.stderr.write(`kiln: error: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ""}\n`);
      return e.exitCode;
    }
    const stack = e instanceof Error ? (e.stack ?? String(e)) : String(e);
    ctx.stderr.write(
      `kiln: internal error. This is a bug in kiln; please report it with the output below.\n${stack}\n`,
    );
    return 70;
  }
}

// The initrd's gzip deflates on libuv's thread pool, which has 4 threads unless told before its first use.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));

const isEntry =
  process.argv[1] !== undefined &&
  import.meta.url ===
    (await import("node:url")).pathToFileURL((await import("node:fs")).realpathSync(process.argv[1])).href;
if (isEntry) {
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
  });
  process.exitCode = code;
}
