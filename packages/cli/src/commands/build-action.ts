import { setMaxListeners } from "node:events";
import { basename, extname } from "node:path";
import { buildAppliance, type Compression, createToolRunner, ImageResolver, parseSize } from "@kiln/builder";
import { formatIssue, KilnError, loadConfig, renderDryRun, UsageError } from "@kiln/spec";
import type { CommandContext } from "../declare.js";
import { readSources } from "../inputs.js";
import { PullProgress } from "../progress.js";
import { VERSION } from "../version.js";
import { CLI_CODE, isRegularFile, quickTarget, reportBuild } from "./build-quick.js";
import { imageContext } from "./image-context.js";

/** `kiln build`: loaded only when the command runs, because it needs all of @kiln/builder. */
export async function runBuild(
  files: string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
): Promise<number> {
  const started = Date.now();
  const sources = await readSources(files, ctx.stdin);
  const loaded = loadConfig(sources);
  const notes = loaded.warnings.map((w) => `${formatIssue(w)} (warning)`);
  for (const note of notes) ctx.stderr.write(`${note}\n`);
  const output = options.output as string | undefined;
  const formats = selectFormats(options.format as string[] | undefined, loaded.legacyFormats, output);
  if (options.dryRun) {
    ctx.stderr.write(`formats: ${formats.join(",")}\n`);
    ctx.stdout.write(renderDryRun(loaded));
    return 0;
  }
  if (output !== undefined && (options.name !== undefined || options.dir !== undefined)) {
    throw new UsageError(
      "-o cannot be combined with --name or --dir",
      "give either -o FILE, or --dir and --name",
    );
  }
  const last = files[files.length - 1]!;
  const name =
    (options.name as string | undefined) ?? (last === "-" ? "moby" : basename(last, extname(last)));
  // Keyed by the texts just loaded, so the record describes exactly what this build read.
  const quick = files.every(isRegularFile)
    ? quickTarget(
        files,
        sources.map((s) => s.text),
        options,
      )
    : undefined;
  return withInterrupt(ctx, async (signal) => {
    const quiet = Boolean(options.quiet);
    const ictx = await imageContext(options);
    const progress = new PullProgress(ctx.stderr, "pull", quiet);
    const log = (line: string) => {
      if (!quiet) ctx.stderr.write(`kiln: ${line}\n`);
    };
    const resolver = new ImageResolver({
      cache: ictx.cache,
      client: ictx.client,
      arch: ictx.arch,
      pull: Boolean(options.pull),
      docker: Boolean(options.docker),
      onProgress: (e) => {
        if (!e.cached) progress.update(e);
      },
      log,
      signal,
    });
    const result = await buildAppliance({
      loaded,
      formats,
      name,
      dir: (options.dir as string | undefined) ?? ".",
      ...(output === undefined ? {} : { output: output === "-" ? ctx.stdout : output }),
      size: parseSize(options.size as string),
      arch: ictx.arch,
      compression: options.compression as Compression,
      resolver,
      cache: ictx.cache,
      tools: createToolRunner({ builder: options.builder as string, cache: ictx.cache, log }),
      signal,
      log,
      version: VERSION,
      force: Boolean(options.force),
      ...(quick ? { quick: { key: quick.key, notes, codeRoots: [CLI_CODE] } } : {}),
    });
    if (!quiet) await reportBuild(ctx, result, started);
    return 0;
  });
}

class Interrupted extends KilnError {
  constructor(signal: string) {
    super(`interrupted by ${signal}`, { exitCode: 130 });
  }
}

/**
 * Ctrl-C or SIGTERM aborts the build; it then removes its temp files and partial outputs, and the command
 * exits 130. A second signal while that clean-up runs is ignored, so the clean-up always finishes.
 */
async function withInterrupt(
  ctx: CommandContext,
  fn: (signal: AbortSignal) => Promise<number>,
): Promise<number> {
  const controller = new AbortController();
  // Every pull, package build and writer of the build listens to this one signal.
  setMaxListeners(0, controller.signal);
  const stop = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.stderr.write(`kiln: ${sig}: stopping, removing partial outputs\n`);
    controller.abort(new Interrupted(sig));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    return await fn(controller.signal);
  } catch (e) {
    if (controller.signal.aborted) {
      ctx.stderr.write("kiln: build interrupted; no outputs were written\n");
      return 130;
    }
    throw e;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export function selectFormats(
  flag: readonly string[] | undefined,
  legacy: readonly string[],
  output?: string,
): string[] {
  const fromFlag = (flag ?? [])
    .flatMap((f) => f.split(","))
    .map((f) => f.trim())
    .filter(Boolean);
  if (fromFlag.length > 0) return [...new Set(fromFlag)];
  if (legacy.length > 0) return [...legacy];
  return [output === undefined ? "kernel+initrd" : "tar"];
}
