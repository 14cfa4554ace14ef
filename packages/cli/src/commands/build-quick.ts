// `kiln build`'s no-op fast path, tried before the build action and all of @kiln/builder are loaded: the
// quick key hashes what the command line, the environment and the YAML bytes say, and the builder's light
// `noop` entry answers from the record the last full build left under it (or says no, and the full path
// runs). Both paths print through `reportBuild`, so an answer reads the same whichever path gave it.

import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { checkQuick, quickCacheDir, quickKey } from "@kiln/builder/noop";
import type { CommandContext } from "../declare.js";
import { bytes } from "../progress.js";
import { VERSION } from "../version.js";

/** Environment a build reads, itself or through the programs a package tag asks (apt, go). */
const ENV = [
  "SOURCE_DATE_EPOCH",
  "KILN_CACHE",
  "XDG_CACHE_HOME",
  "HOME",
  "PATH",
  "APT_CONFIG",
  "GOROOT",
  "GOTOOLCHAIN",
  "GOENV",
  "GOFLAGS",
  "GOWORK",
  "XDG_CONFIG_HOME",
  "DOCKER_HOST",
  "DOCKER_CONFIG",
];

/** Options that change how a build runs or talks, not what it makes. */
const NOT_INPUTS = new Set(["quiet", "force", "pull"]);

/** The CLI's own code: a change to it (how formats or names are chosen) must not be answered from a record. */
export const CLI_CODE = fileURLToPath(new URL("..", import.meta.url));

/**
 * A pipe or process substitution (`<(...)`) can be read once only, by the full path: a build of one is
 * neither answered nor recorded.
 */
export function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export interface QuickTarget {
  cacheDir: string;
  key: string;
}

/**
 * Where a build of `files` (read as `texts`) with `options` is recorded, or undefined when it never is:
 * standard input, `-o -`, `--docker` (the engine's images are not in the cache's index), `--dry-run`.
 */
export function quickTarget(
  files: readonly string[],
  texts: readonly string[],
  options: Record<string, unknown>,
): QuickTarget | undefined {
  if (files.includes("-") || options.output === "-" || options.docker || options.dryRun) return undefined;
  const cacheDir = quickCacheDir(options.cache as string | undefined);
  const key = quickKey({
    kiln: VERSION,
    // Which kiln: two checkouts or installs share a version, and each must answer from its own records.
    code: [CLI_CODE, fileURLToPath(import.meta.resolve("@kiln/builder/noop"))],
    node: process.version,
    nodePath: process.execPath,
    platform: process.platform,
    arch: process.arch,
    cwd: process.cwd(),
    cacheDir,
    env: Object.fromEntries(ENV.map((n) => [n, process.env[n] ?? null])),
    options: Object.fromEntries(Object.entries(options).filter(([k]) => !NOT_INPUTS.has(k))),
    yaml: files.map((f, i) => ({
      arg: f,
      path: resolve(f),
      sha256: createHash("sha256")
        .update(texts[i] ?? "")
        .digest("hex"),
    })),
  });
  return { cacheDir, key };
}

async function sizeOf(path: string): Promise<string> {
  return stat(path).then(
    (s) => ` (${bytes(s.size)})`,
    () => "",
  );
}

/** The closing lines of a build: how long it took or that nothing changed, and each output with its size. */
export async function reportBuild(
  ctx: CommandContext,
  result: { outputs: readonly string[]; upToDate: boolean },
  started: number,
): Promise<void> {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (result.outputs[0] === "-") {
    ctx.stderr.write(`kiln: built in ${secs} s, to standard output\n`);
    return;
  }
  const ms = Date.now() - started;
  ctx.stderr.write(`kiln: ${result.upToDate ? `up to date (checked in ${ms} ms)` : `built in ${secs} s`}:\n`);
  for (const o of result.outputs) ctx.stderr.write(`  ${o}${await sizeOf(o)}\n`);
}

/** Answer an unchanged build from its record and return the exit code, or undefined to take the full path. */
export async function quickBuild(
  files: readonly string[],
  options: Record<string, unknown>,
  ctx: CommandContext,
  started: number,
): Promise<number | undefined> {
  if (options.force || options.pull || files.includes("-") || !files.every(isRegularFile)) return undefined;
  let texts: string[];
  try {
    texts = await Promise.all(files.map((f) => readFile(f, "utf8")));
  } catch {
    return undefined; // the full path says what is wrong with the file
  }
  const target = quickTarget(files, texts, options);
  if (!target) return undefined;
  const hit = await checkQuick(target.cacheDir, target.key);
  if (!hit) return undefined;
  for (const note of hit.notes) ctx.stderr.write(`${note}\n`);
  if (!options.quiet) {
    for (const line of hit.log) ctx.stderr.write(`kiln: ${line}\n`);
    await reportBuild(ctx, { outputs: hit.outputs, upToDate: true }, started);
  }
  return 0;
}
