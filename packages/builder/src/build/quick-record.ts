// Writing down what a build's key depended on, for the quick no-op check of the next command
// (quick-noop.ts). It runs after the full path has answered, so it may use the heavy modules.
//
// The states are taken after the build, so a file edited while the build read it could be recorded in its
// new state next to a key made from its old contents. As git does for its index ("racy git"), a record is
// written only when every file's last change (ctime, which no tool can set back) is older than this process
// by a margin for timestamp granularity: everything the key hashed was read by this process, after that.

import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseImageRef } from "@kiln/spec";
import { writeFileAtomic } from "../cache/atomic.js";
import type { OciCache } from "../cache/cache.js";
import type { Descriptor } from "../oci/types.js";
import { APT_DEPTH, APT_INPUTS, APT_SKIP } from "../pkg/apt.js";
import { localReplacements } from "../pkg/local.js";
import { loadRecipe } from "../pkg/recipe.js";
import { locate } from "../pkg/run.js";
import { type TagSources, tagSources } from "../pkg/tag.js";
import type { ResolvedImage } from "../registry/pull.js";
import { codeTrees, listCode } from "./fingerprint.js";
import {
  type FileState,
  fileState,
  QUICK_VERSION,
  type QuickDep,
  type QuickImage,
  type QuickRecord,
  quickRecordPath,
} from "./quick-noop.js";

/** How much older than this process a file's last change must be to be trusted by its state. */
export const SETTLE_MS = 2000;

export interface QuickRequest {
  /** The quick key, from what the command line and the YAML bytes say (see quick-noop.ts). */
  key: string;
  /** Lines the command printed before building (the YAML's warnings), to print again on a quick answer. */
  notes?: string[];
  /** More code whose change must send the next command down the full path (the CLI's own). */
  codeRoots?: string[];
  /**
   * Files whose last change is at or after this time (ms since the epoch) are too recent to trust, and no
   * record is written. Default: this process's start less SETTLE_MS.
   */
  since?: number;
}

export interface QuickBuild {
  request: QuickRequest;
  cache: OciCache;
  /** The full build key. */
  key: string;
  images: ReadonlyArray<readonly [string, ResolvedImage]>;
  /** Absolute paths of the `files: source:` entries. */
  sources: readonly string[];
  /** What a no-op prints as progress. */
  log: string[];
}

const GO_SKIP = new Set([".git", ".hg", ".svn"]);

class Deps {
  readonly list = new Map<string, QuickDep>();

  add(dep: QuickDep): void {
    this.list.set(`${"link" in dep ? "l" : "s"}:${dep.path}`, dep);
  }

  /** A file or directory's state, or its absence (with the state of the directory that lacks it). */
  state(path: string, link = false): FileState | undefined {
    const s = fileState(path, link);
    if (s) this.add(s);
    else {
      this.add({ path, missing: true });
      // The parent's ctime shows whether the path vanished while the build was reading it.
      let up = dirname(path);
      while (up !== dirname(up) && !fileState(up)) up = dirname(up);
      this.state(up);
    }
    return s;
  }

  blob(cache: OciCache, d: Descriptor): void {
    this.add({ path: cache.blobPath(d.digest), blobSize: d.size });
  }

  /** `root` and everything under it; `link` walks as lstat does (symlinks are entries, not followed). */
  tree(
    root: string,
    o: { link?: boolean; skip?: ReadonlySet<string>; maxDepth?: number } = {},
    depth = 0,
  ): void {
    const s = this.state(root, o.link);
    if (depth === 0 && o.link && s && (s.mode & 0o170000) === 0o120000) {
      // A symlinked root (a package directory linked in from elsewhere) is read through by the tag: the
      // link is recorded above, and what it points at is walked as if it were here.
      this.tree(realpathSync(root), o, depth);
      return;
    }
    if (!s || (s.mode & 0o170000) !== 0o040000) return;
    if (o.maxDepth !== undefined && depth > o.maxDepth) {
      // apt's fingerprint does not look into it: neither its state nor its entries count
      this.list.delete(`${o.link ? "l" : "s"}:${root}`);
      return;
    }
    for (const name of readdirSync(root).sort()) {
      if (!o.skip?.has(name)) this.tree(join(root, name), o, depth + 1);
    }
  }
}

/** What the tag of the recipe in `dir` read, as this process's tag computation saw it, else from the recipe. */
async function sourcesOf(dir: string): Promise<TagSources> {
  const known = tagSources(dir);
  if (known) return known;
  const recipe = await loadRecipe(dir);
  const modules = new Set<string>();
  for (const g of recipe.go) {
    if (g.kind !== "local") continue;
    modules.add(g.dir);
    for (const m of await localReplacements(g.dir)) modules.add(m);
  }
  return {
    trees: [
      { root: recipe.dir, goModule: false },
      ...recipe.files.flatMap((f) => (f.kind === "copy" ? [{ root: f.src, goModule: false }] : [])),
      ...[...modules].map((root) => ({ root, goModule: true })),
    ],
    apt: recipe.debian !== undefined || recipe.kernel !== undefined,
    go: recipe.go.length > 0,
  };
}

/** The local inputs of a package's tag: its directory, copied sources, local Go modules, apt and Go. */
async function packageDeps(dir: string, deps: Deps): Promise<void> {
  const sources = await sourcesOf(resolve(dir));
  for (const t of sources.trees) deps.tree(t.root, { link: true, ...(t.goModule ? { skip: GO_SKIP } : {}) });
  // The recipe is read through a symlink if it is one.
  deps.state(join(realpathSync(resolve(dir)), "build.yml"));
  if (sources.apt) for (const p of APT_INPUTS) deps.tree(p, { skip: APT_SKIP, maxDepth: APT_DEPTH });
  if (sources.go) {
    // The Go version is part of the tag: the `go` that would run, and no new one earlier on PATH.
    const go = await locate("go");
    const path = (process.env.PATH ?? "").split(":").filter(Boolean);
    const at = path.indexOf(dirname(go));
    for (const d of at >= 0 ? path.slice(0, at) : path) deps.add({ path: join(d, "go"), missing: true });
    deps.state(go);
    // A `go` that is not GOROOT/bin/go (an asdf, mise or goenv shim) may pick another toolchain with no
    // file here changing; such a setup gets no record, so every build takes the full path.
    const root = dirname(dirname(realpathSync(go)));
    if (!existsSync(join(root, "VERSION"))) throw new Error(`${go} is not a Go installation's own go`);
    deps.state(join(root, "VERSION"));
  }
}

/** The YAML parser and the other libraries: an upgrade can change the config or the bytes. */
function libraryDeps(deps: Deps): void {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const name of Object.keys(manifest.dependencies ?? {}).sort()) {
    if (name.startsWith("@kiln/")) continue;
    const entry = fileURLToPath(import.meta.resolve(name));
    deps.state(entry);
    const nm = entry.lastIndexOf("/node_modules/");
    // npm rewrites its hidden lockfile on every install, transitive dependencies included.
    if (nm >= 0) deps.state(join(entry.slice(0, nm), "node_modules", ".package-lock.json"));
  }
}

/** Every dependency of the build's key, or undefined when one of them cannot be stated. */
async function collect(b: QuickBuild): Promise<{ deps: QuickDep[]; images: QuickImage[] } | undefined> {
  const deps = new Deps();
  const images: QuickImage[] = [];
  for (const tree of await codeTrees()) {
    for (const d of tree.dirs) deps.state(d);
    for (const f of tree.files) deps.state(f);
  }
  for (const root of b.request.codeRoots ?? []) {
    const tree = await listCode(root);
    for (const d of tree.dirs) deps.state(d);
    for (const f of tree.files) deps.state(f);
  }
  libraryDeps(deps);
  for (const s of b.sources) deps.state(s);
  for (const [text, img] of b.images) {
    const ref = parseImageRef(text);
    if (ref.kind === "registry" || ref.kind === "pkg") {
      images.push({
        name: img.name,
        digest: img.root.digest,
        size: img.root.size,
        mediaType: img.root.mediaType,
      });
      for (const d of [img.root, img.manifestDescriptor, img.manifest.config, ...img.manifest.layers])
        deps.blob(b.cache, d);
      if (ref.kind === "pkg") await packageDeps(ref.path, deps);
    } else if (ref.kind === "oci-layout" || ref.kind === "docker-archive") {
      deps.tree(resolve(ref.path));
    } else return undefined;
  }
  return { deps: [...deps.list.values()], images };
}

/**
 * Record the build for the quick no-op check, or remove a stale record when it cannot be trusted. Never
 * throws: without a record the next command takes the full path, which is always right.
 */
export async function recordQuick(b: QuickBuild): Promise<boolean> {
  const path = quickRecordPath(b.cache.dir, b.request.key);
  try {
    const found = await collect(b);
    const since = b.request.since ?? performance.timeOrigin - SETTLE_MS;
    // Only blobs and absences have no ctime; everything else must predate what this process read.
    if (found?.deps.every((d) => !("ctimeMs" in d) || d.ctimeMs < since)) {
      const record: QuickRecord = {
        version: QUICK_VERSION,
        quickKey: b.request.key,
        cacheDir: resolve(b.cache.dir),
        key: b.key,
        deps: found.deps,
        images: found.images,
        notes: b.request.notes ?? [],
        log: b.log,
      };
      await mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, `${JSON.stringify(record)}\n`);
      return true;
    }
  } catch {
    // fall through: no record
  }
  await rm(path, { force: true }).catch(() => {});
  return false;
}
