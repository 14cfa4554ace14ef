// A package's tag: the hash of everything its image is made from, so that an unchanged recipe with unchanged
// inputs is found in the cache without building, and any change to an input gives a new tag.

import { createHash } from "node:crypto";
import { join, relative, sep } from "node:path";
import { outputTime } from "../sources/epoch.js";
import { AptResolveError, type DebPackage, resolveClosure } from "./apt.js";
import { goVersion } from "./go.js";
import { GZIP_LEVEL } from "./layer.js";
import { goSkip, hashLines, localReplacements } from "./local.js";
import type { Recipe } from "./recipe.js";

/** Bump when the same inputs would build different bytes (the layout of the image, a default, the tar writer). */
export const RECIPE_FORMAT_VERSION = 1;

/** Where built packages are named in the cache: `kiln.local/pkg/NAME:TAG`. */
export const PKG_REPOSITORY = "kiln.local/pkg";

export interface PackageInputs {
  recipe: Recipe;
  arch: string;
  mtime: Date;
  debs: DebPackage[];
  kernelDeb?: DebPackage;
  goVersion?: string;
  /** The tag's full hash, hex. */
  hash: string;
  /** Its first 16 hex digits: the image's tag. */
  tag: string;
  /** `kiln.local/pkg/NAME:TAG`. */
  name: string;
  /** The hash of the local files and Go modules alone. */
  localHash: string;
  /** Recomputes `localHash`, to check that nothing changed while building. */
  rehashLocal(): Promise<string>;
}

export interface InputOptions {
  arch: string;
  /** `$KILN_CACHE/apt`: apt's package cache for the empty status. */
  aptDir: string;
  signal?: AbortSignal;
}

/** What a recipe's tag reads from the host besides the recipe's bytes and its arguments. */
export interface TagSources {
  /** Trees walked as `walkLocal` walks them (symlinks not followed), recipe directory first. */
  trees: Array<{ root: string; goModule: boolean }>;
  /** apt's package lists and configuration (the recipe has `debian:` or `kernel:`). */
  apt: boolean;
  /** The Go toolchain's version (the recipe builds Go). */
  go: boolean;
}

// By recipe directory: the sources of the tag computed last in this process, for the quick no-op record,
// which would otherwise load every recipe a second time.
const lastSources = new Map<string, TagSources>();

/** The sources of the last tag computed in this process for the recipe in `dir` (absolute), if any. */
export function tagSources(dir: string): TagSources | undefined {
  return lastSources.get(dir);
}

async function localLines(recipe: Recipe): Promise<string[]> {
  const lines: string[] = [];
  for (const f of recipe.files) if (f.kind === "copy") lines.push(...(await hashLines(f.src, recipe.dir)));
  const modules = new Set<string>();
  for (const g of recipe.go) {
    if (g.kind !== "local") continue;
    modules.add(g.dir);
    for (const dir of await localReplacements(g.dir)) modules.add(dir);
  }
  for (const dir of [...modules].sort()) {
    lines.push(`module ${relative(recipe.dir, dir).split(sep).join("/") || "."}`);
    lines.push(...(await hashLines(dir, recipe.dir, goSkip, { followRoot: true })));
  }
  lastSources.set(recipe.dir, {
    trees: [
      { root: recipe.dir, goModule: false },
      ...recipe.files.flatMap((f) => (f.kind === "copy" ? [{ root: f.src, goModule: false }] : [])),
      ...[...modules].sort().map((root) => ({ root, goModule: true })),
    ],
    apt: recipe.debian !== undefined || recipe.kernel !== undefined,
    go: recipe.go.length > 0,
  });
  return lines;
}

function digest(lines: readonly string[]): string {
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

async function resolveDebian(recipe: Recipe, o: InputOptions): Promise<DebPackage[]> {
  if (!recipe.debian) return [];
  try {
    const debs = await resolveClosure(recipe.debian.packages, {
      stateDir: o.aptDir,
      arch: o.arch,
      signal: o.signal,
    });
    return debs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    if (e instanceof AptResolveError) {
      const at =
        e.packageIndex === undefined ? ["debian", "packages"] : ["debian", "packages", e.packageIndex];
      throw recipe.fail(at, e.message, e.hint);
    }
    throw e;
  }
}

/** The versioned linux-image package the recipe's kernel package stands for (e.g. linux-image-amd64). */
async function resolveKernel(recipe: Recipe, o: InputOptions): Promise<DebPackage | undefined> {
  if (!recipe.kernel) return undefined;
  let closure: DebPackage[];
  try {
    closure = await resolveClosure([recipe.kernel.package], {
      stateDir: o.aptDir,
      arch: o.arch,
      signal: o.signal,
    });
  } catch (e) {
    if (e instanceof AptResolveError) throw recipe.fail(["kernel", "package"], e.message, e.hint);
    throw e;
  }
  const own = recipe.kernel.package.split("=")[0]!;
  const image =
    closure.find((p) => p.name === own && /^linux-image-\d/.test(p.name)) ??
    closure.find((p) => /^linux-image-\d/.test(p.name));
  if (!image) {
    throw recipe.fail(
      ["kernel", "package"],
      `${own} does not lead to a versioned linux-image-VERSION package`,
      "name a Debian kernel package such as linux-image-amd64",
    );
  }
  return image;
}

/** Resolve every input of the recipe (locally: apt's lists, Go's version, the files) and hash them. */
export async function resolveInputs(recipe: Recipe, o: InputOptions): Promise<PackageInputs> {
  const mtime = outputTime();
  const [debs, kernelDeb, go, local] = await Promise.all([
    resolveDebian(recipe, o),
    resolveKernel(recipe, o),
    recipe.go.length > 0 ? goVersion(o.signal) : undefined,
    localLines(recipe),
  ]);
  const lines = [
    `kiln-pkg ${RECIPE_FORMAT_VERSION}`,
    `arch ${o.arch}`,
    `mtime ${mtime.getTime() / 1000}`,
    `gzip ${GZIP_LEVEL} zlib ${process.versions.zlib}`,
    `recipe ${createHash("sha256").update(recipe.bytes).digest("hex")}`,
    ...debs.map((d) => `deb ${d.name} ${d.version} ${d.arch} ${d.sha256}`),
    ...(kernelDeb
      ? [`kernel ${kernelDeb.name} ${kernelDeb.version} ${kernelDeb.arch} ${kernelDeb.sha256}`]
      : []),
    ...(go ? [`go ${go}`] : []),
    ...recipe.go
      .filter((g) => g.kind === "remote")
      .map((g) => `go-module ${g.module}@${g.version} ${g.package}`),
    `local ${digest(local)}`,
  ];
  const hash = digest(lines);
  const tag = hash.slice(0, 16);
  const inputs: PackageInputs = {
    recipe,
    arch: o.arch,
    mtime,
    debs,
    hash,
    tag,
    name: `${PKG_REPOSITORY}/${recipe.name}:${tag}`,
    localHash: digest(local),
    rehashLocal: async () => digest(await localLines(recipe)),
  };
  if (kernelDeb) inputs.kernelDeb = kernelDeb;
  if (go) inputs.goVersion = go;
  return inputs;
}

export function aptDir(cacheDir: string): string {
  return join(cacheDir, "apt");
}
