// `kiln pkg build`: a recipe → one image in the cache, named by the hash of its inputs. Offline once the
// inputs are downloaded, no daemon, no root, and the same inputs always give the same manifest digest.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { hostArch } from "../registry/platform.js";
import { type ResolvedImage, resolveCached } from "../registry/pull.js";
import { downloadDebs } from "./apt.js";
import { addDeb, Spool } from "./deb.js";
import { applyFiles } from "./files.js";
import { buildGo } from "./go.js";
import { storeImage } from "./image.js";
import { buildKernel } from "./kernel.js";
import { writeLayer } from "./layer.js";
import { DEFAULT_EXCLUDES, loadRecipe } from "./recipe.js";
import { aptDir, type PackageInputs, resolveInputs } from "./tag.js";
import { fileNode, ImageTree } from "./tree.js";

export interface PackageOptions {
  cache: OciCache;
  /** OCI architecture name (default: the host's). */
  arch?: string;
  /** Build even when the cache already has this tag. */
  force?: boolean;
  /** Where .debs are kept between builds (default: `CACHE/downloads`). */
  downloads?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export type PackageTagOptions = Pick<PackageOptions, "cache" | "arch" | "signal">;

export interface BuiltPackage extends ResolvedImage {
  /** The tag: the first 16 hex digits of the inputs' hash. `name` is `kiln.local/pkg/NAME:TAG`. */
  tag: string;
  /** False when the cache already had it. */
  built: boolean;
  /** The recipe's `name:`. */
  packageName: string;
}

async function inputsOf(dir: string, o: PackageTagOptions): Promise<PackageInputs> {
  const recipe = await loadRecipe(dir);
  return resolveInputs(recipe, { arch: o.arch ?? hostArch(), aptDir: aptDir(o.cache.dir), signal: o.signal });
}

/** The image name a recipe builds to, `kiln.local/pkg/NAME:TAG`, computed without building (and offline). */
export async function packageTag(dir: string, o: PackageTagOptions): Promise<string> {
  return (await inputsOf(dir, o)).name;
}

async function assemble(inputs: PackageInputs, work: string, o: PackageOptions): Promise<ImageTree> {
  const { recipe, arch } = inputs;
  const log = o.log && ((line: string) => o.log?.(`${recipe.name}: ${line}`));
  const downloads = join(o.downloads ?? join(o.cache.dir, "downloads"), "deb");
  const apt = { stateDir: aptDir(o.cache.dir), arch, signal: o.signal, log };
  const tree = new ImageTree();
  const spool = new Spool(join(work, "spool"));
  await mkdir(spool.dir, { recursive: true });

  if (recipe.debian) {
    const paths = await downloadDebs(inputs.debs, downloads, apt);
    log?.(`unpacking ${inputs.debs.length} Debian packages`);
    const exclude = [...DEFAULT_EXCLUDES, ...recipe.debian.exclude];
    for (const [i, pkg] of inputs.debs.entries()) {
      await addDeb(tree, paths[i]!, {
        what: `Debian package ${pkg.name} ${pkg.version}`,
        digest: pkg.sha256,
        exclude,
        spool,
        signal: o.signal,
      });
    }
  }
  if (inputs.kernelDeb) {
    const [path] = await downloadDebs([inputs.kernelDeb], downloads, apt);
    const k = await buildKernel(recipe, { path: path!, pkg: inputs.kernelDeb }, join(work, "kernel"), {
      mtime: inputs.mtime,
      signal: o.signal,
      log,
    });
    log?.(`kernel ${k.version}: ${k.modules} modules`);
    tree.add("kernel", await fileNode(k.kernel, 0o644), "the kernel section");
    tree.add("kernel.tar", await fileNode(k.tar, 0o644), "the kernel section");
  }
  for (const [i, g] of recipe.go.entries()) {
    const bin = await buildGo(recipe, g, join(work, `go-${i}`), { arch, signal: o.signal, log });
    tree.add(g.dest, await fileNode(bin, 0o755), `${recipe.file}: go.${i}`);
  }
  await applyFiles(tree, recipe);
  return tree;
}

/**
 * Build the recipe in `dir` into the cache, unless the cache already has its tag (with every blob).
 * Throws SpecError for recipe problems (located in build.yml) and KilnError for everything else.
 */
export async function buildPackage(dir: string, o: PackageOptions): Promise<BuiltPackage> {
  const started = Date.now();
  const inputs = await inputsOf(resolve(dir), o);
  const { recipe, arch, name, tag } = inputs;
  if (!o.force) {
    const cached = await resolveCached(o.cache, name, arch);
    if (cached) {
      o.log?.(`${recipe.name}: up to date (${name})`);
      return { ...cached, tag, built: false, packageName: recipe.name };
    }
  }
  o.log?.(`${recipe.name}: building ${name}`);
  const work = await mkdtemp(join(tmpdir(), `kiln-pkg-${recipe.name}-`));
  try {
    return await buildIn(work, inputs, o, started);
  } catch (e) {
    // Whatever was cut short by a cancellation reports the cancellation, not its own AbortError.
    if (o.signal?.aborted) throw o.signal.reason;
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function buildIn(
  work: string,
  inputs: PackageInputs,
  o: PackageOptions,
  started: number,
): Promise<BuiltPackage> {
  const { recipe, arch, name, tag } = inputs;
  const tree = await assemble(inputs, work, o);
  const layer = await writeLayer(tree.entries(inputs.mtime), join(work, "layer.tar.gz"), o.signal);
  if ((await inputs.rehashLocal()) !== inputs.localHash) {
    throw new KilnError(`${recipe.dir}: local files changed while the package was being built`, {
      hint: "build again once they are saved",
    });
  }
  const image = await storeImage(o.cache, name, recipe, arch, layer);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const mib = (layer.size / 2 ** 20).toFixed(1);
  o.log?.(`${recipe.name}: built ${name} in ${secs}s (${tree.size} entries, ${mib} MiB)`);
  return { ...image, tag, built: true, packageName: recipe.name };
}
