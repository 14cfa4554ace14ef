// `kiln build`: resolve every image, assemble the appliance, and write each requested format, with
// outputs that appear only once all of them are complete, and a no-op when nothing changed.

import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { KilnError, type LoadedConfig, type RawConfig, UsageError } from "@kiln/spec";
import pLimit from "p-limit";
import { applianceBundles, assembleAppliance, assembleSegments } from "../assemble/assemble.js";
import { sourcePath } from "../assemble/files.js";
import { type ApplianceImage, cachedImage } from "../assemble/image.js";
import { tempPathFor } from "../cache/atomic.js";
import type { OciCache } from "../cache/cache.js";
import { PieceStore } from "../cache/pieces.js";
import type { Compression } from "../formats/compress.js";
import { formatWriter } from "../formats/registry.js";
import type { FormatWriter } from "../formats/types.js";
import type { ImageResolver } from "../resolve/resolver.js";
import { outputTime } from "../sources/epoch.js";
import type { ToolRunner } from "../tools/types.js";
import { cachedBoot } from "./boot-cache.js";
import { BuildArtifacts, type extractBoot } from "./context.js";
import { codeFingerprint } from "./fingerprint.js";
import { buildKey, fileSha256, type OutputRecord, recordBuild, upToDate } from "./incremental.js";
import { type QuickRequest, recordQuick } from "./quick-record.js";
import { DEFAULT_SIZE } from "./size.js";

export interface BuildOptions {
  /** The merged config and where each of its entries came from (spec's `loadConfig`). */
  loaded: LoadedConfig;
  /** `--format` names, in order. */
  formats: readonly string[];
  /** `--name`: outputs are `${dir}/${name}-kernel`, `${dir}/${name}.tar`... */
  name: string;
  /** `--dir`. */
  dir: string;
  /** `-o FILE` or a stream for `-o -`: the only output of a single streamable format. */
  output?: string | NodeJS.WritableStream;
  /** `--size` in bytes (default 1 GiB), for fixed-size disk formats. */
  size?: number;
  arch: string;
  /** `--compression` of the initrd (default gzip). */
  compression?: Compression;
  /** Gets every image into `cache` (registry, local sources, packages). */
  resolver: ImageResolver;
  cache: OciCache;
  /** Runs external tools for the formats that need them. */
  tools?: ToolRunner;
  signal?: AbortSignal;
  /** Progress lines. */
  log?: (line: string) => void;
  /** The time stamp of generated entries (default: SOURCE_DATE_EPOCH, else LinuxKit's). */
  mtime?: Date;
  /** kiln's version: a new kiln rebuilds (as does any change to the builder's or spec's code). */
  version: string;
  /** gzip worker threads (default: every core). The output is the same for any number. */
  workers?: number;
  /** Rebuild even when the outputs are up to date. */
  force?: boolean;
  /**
   * Leave a record for the quick no-op check (`@kiln/builder/noop`) under this key once the outputs are in
   * place. Not for streams, nor with a resolver that asks the Docker engine.
   */
  quick?: QuickRequest;
}

export interface BuildResult {
  /** Absolute paths of the outputs ("-" for standard output). */
  outputs: string[];
  /** True when nothing had changed, so nothing was written. */
  upToDate: boolean;
  key: string;
}

const noTools: ToolRunner = {
  mode: "native",
  async run(inv) {
    throw new KilnError(`no tool runner was given to run ${inv.tool}`);
  },
  async require(tools) {
    throw new KilnError(`no tool runner was given to run ${tools.join(", ")}`);
  },
};

/** Every image reference the config names, once each, in order of appearance. */
export function configImages(config: RawConfig): string[] {
  const refs = new Set<string>();
  if (config.kernel) refs.add(config.kernel.image);
  for (const r of config.init ?? []) refs.add(r);
  for (const v of config.volumes ?? []) if (v.image !== undefined) refs.add(v.image);
  for (const s of ["onboot", "onshutdown", "services"] as const)
    for (const e of config[s] ?? []) refs.add(e.image);
  return [...refs];
}

function checkFormats(o: BuildOptions): FormatWriter[] {
  if (o.formats.length === 0) throw new UsageError("no format given", "e.g. --format kernel+initrd");
  const writers = [...new Set(o.formats)].map(formatWriter);
  if (writers.length > 1) {
    const streamable = writers.find((w) => w.streamable);
    if (streamable)
      throw new UsageError(`format ${streamable.name} must be the only format`, "build it in a separate run");
  }
  if (o.output !== undefined) {
    if (writers.length !== 1 || !writers[0]!.streamable) {
      throw new UsageError(
        "-o is only for a single streamable format (tar or docker)",
        "use --dir and --name instead",
      );
    }
  }
  if (!o.loaded.config.kernel) {
    const needs = writers.find((w) => w.needsKernel !== false);
    if (needs) {
      throw new KilnError(`format ${needs.name} needs a kernel, and the YAML has no \`kernel:\` section`, {
        hint: "add a kernel section, or build --format tar",
      });
    }
  }
  return writers;
}

/** Where relative `files: source:` paths start: the directory of the YAML that names them. */
function fileBaseDir(loaded: LoadedConfig): (index: number) => string {
  return (i) => {
    const file = loaded.origins.files[i]?.file;
    return file === undefined || file === "-" ? process.cwd() : dirname(resolve(file));
  };
}

function sourcePaths(loaded: LoadedConfig): string[] {
  const base = fileBaseDir(loaded);
  return (loaded.config.files ?? []).flatMap((f, i) =>
    f.source === undefined ? [] : [sourcePath(f.source, base(i))],
  );
}

async function sourceDigests(loaded: LoadedConfig): Promise<Array<string | null>> {
  const base = fileBaseDir(loaded);
  return Promise.all(
    (loaded.config.files ?? []).map(async (f, i) => {
      if (f.source === undefined) return null;
      try {
        return await fileSha256(sourcePath(f.source, base(i)));
      } catch {
        return "absent";
      }
    }),
  );
}

interface Planned {
  writer: FormatWriter;
  finals: string[];
  temps: string[];
}

/**
 * Build the appliance. Outputs are written to temp names beside their final ones and renamed only once
 * every format has succeeded; on failure or abort, nothing is left at the final names (earlier outputs
 * there stay untouched) and no temp file remains. An unchanged build answers from the cache's record
 * without writing anything.
 */
export async function buildAppliance(o: BuildOptions): Promise<BuildResult> {
  const log = o.log ?? (() => {});
  const signal = o.signal ?? new AbortController().signal;
  const config = o.loaded.config;
  const writers = checkFormats(o);
  const mtime = o.mtime ?? outputTime();
  const compression = o.compression ?? "gzip";
  const size = o.size ?? DEFAULT_SIZE;

  const code = codeFingerprint(); // read while the images resolve
  const refs = configImages(config);
  if (refs.length > 0) log(`resolving ${refs.length} image${refs.length === 1 ? "" : "s"}`);
  const limit = pLimit(4);
  const resolved = await Promise.all(
    refs.map((r) => limit(async () => [r, await o.resolver.resolve(r)] as const)),
  );
  signal.throwIfAborted();
  const images = new Map<string, ApplianceImage>(
    resolved.map(([r, img]) => [r, cachedImage(o.cache, r, img)]),
  );
  const image = (ref: string): ApplianceImage => {
    const found = images.get(ref);
    if (!found) throw new Error(`image ${ref} was not resolved`);
    return found;
  };
  // Bundle configs are checked (labels, ids) before anything is written.
  applianceBundles(config, image);

  const stream = o.output !== undefined && typeof o.output !== "string" ? o.output : undefined;
  const dir = resolve(o.dir);
  const plan: Planned[] = writers.map((writer) => {
    const finals =
      typeof o.output === "string" ? [resolve(o.output)] : writer.outputs(o.name).map((f) => join(dir, f));
    return { writer, finals, temps: finals.map(tempPathFor) };
  });
  const finals = [...new Set(plan.flatMap((p) => p.finals))];

  const key = buildKey({
    kiln: o.version,
    code: await code,
    config,
    images: resolved.map(([r, img]) => [r, img.manifestDescriptor.digest]),
    sources: await sourceDigests(o.loaded),
    formats: [...new Set(o.formats)].sort(),
    outputs: stream ? "-" : finals,
    name: o.name,
    size,
    arch: o.arch,
    compression,
    mtime: mtime.getTime(),
  });
  const quick = async () => {
    if (!o.quick || stream || o.resolver.options.docker) return;
    // What this command printed as progress is what a no-op prints: the count, and each package found.
    const noopLog = refs.length > 0 ? [`resolving ${refs.length} image${refs.length === 1 ? "" : "s"}`] : [];
    for (const [, img] of resolved)
      if ("packageName" in img) noopLog.push(`${img.packageName}: up to date (${img.name})`);
    await recordQuick({
      request: o.quick,
      cache: o.cache,
      key,
      images: resolved,
      sources: sourcePaths(o.loaded),
      log: noopLog,
    });
  };
  if (!stream && !o.force) {
    const previous = await upToDate(o.cache.dir, key);
    if (previous) {
      await quick();
      return { outputs: previous.outputs.map((r) => r.path), upToDate: true, key };
    }
  }

  const workRoot = stream ? tmpdir() : dirname(plan[0]!.finals[0]!);
  if (!stream && typeof o.output !== "string") await mkdir(dir, { recursive: true });
  const workDir = await mkdtemp(join(workRoot, ".kiln-work-"));
  const temps = plan.flatMap((p) => p.temps);
  try {
    const needsBoot = writers.some((w) => w.needsKernel !== false);
    let boot: Awaited<ReturnType<typeof extractBoot>> | undefined;
    if (needsBoot && config.kernel) {
      log(`extracting the kernel from ${image(config.kernel.image).source}`);
      boot = await cachedBoot(o.cache.dir, image(config.kernel.image), config.kernel, workDir, mtime, signal);
    }
    const assembly = { config, image, mtime, fileBaseDir: fileBaseDir(o.loaded), signal };
    const artifacts = new BuildArtifacts({
      name: o.name,
      workDir,
      boot,
      entries: () => assembleAppliance(assembly),
      segments: () => assembleSegments(assembly),
      pieces: new PieceStore(join(o.cache.dir, "initrd-pieces")),
      compression,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      size,
      arch: o.arch,
      tools: o.tools ?? noTools,
      signal,
      mtime,
    });

    if (stream) {
      const writer = plan[0]!.writer;
      log(`writing ${writer.name} to standard output`);
      await writer.stream!(await artifacts.contextFor(writer.name), stream);
      return { outputs: ["-"], upToDate: false, key };
    }

    for (const p of plan) {
      signal.throwIfAborted();
      log(`writing ${p.writer.name}: ${p.finals.map((f) => f.slice(dir.length + 1) || f).join(", ")}`);
      await p.writer.write(await artifacts.contextFor(p.writer.name), p.temps);
    }
    signal.throwIfAborted();

    const records = new Map<string, Omit<OutputRecord, "mtimeMs">>();
    for (const p of plan) {
      for (const [i, tmp] of p.temps.entries()) {
        const s = await stat(tmp).catch(() => {
          throw new KilnError(`format ${p.writer.name} did not write ${p.finals[i]}`);
        });
        records.set(p.finals[i]!, { path: p.finals[i]!, size: s.size, sha256: await fileSha256(tmp) });
      }
    }
    signal.throwIfAborted();
    // From here on the outputs are complete: put them in place even if a signal arrives meanwhile.
    for (const p of plan) for (const [i, tmp] of p.temps.entries()) await rename(tmp, p.finals[i]!);
    const outputs: OutputRecord[] = [];
    for (const f of finals) outputs.push({ ...records.get(f)!, mtimeMs: (await stat(f)).mtimeMs });
    await recordBuild(o.cache.dir, { key, kiln: o.version, outputs });
    await quick();
    return { outputs: finals, upToDate: false, key };
  } finally {
    await Promise.all([
      rm(workDir, { recursive: true, force: true }),
      ...temps.map((t) => rm(t, { force: true })),
    ]);
  }
}
