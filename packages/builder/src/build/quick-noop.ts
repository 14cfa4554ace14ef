// The no-op fast path, decided the way make and ninja decide: by the state of files, not their contents.
//
// A full `kiln build` that ends with its outputs in place leaves a small record in the cache, under a
// "quick key" that hashes what the command line and the YAML bytes say. The record holds the full build key
// and the state (size, mtime, ctime, inode, mode) of every file whose contents went into that key, the cache
// entries its images were found under, and the blobs they need. When all of that is as recorded, the full
// path would compute the same key, so the outputs' own check (`upToDate`) decides alone. Anything missing,
// different or unreadable sends the command down the full path, which stays the authority.
//
// Answering costs a few hundred stats and two small JSON reads; this module imports only `node:` modules
// and the light incremental.ts, so the command never loads the YAML parser, the schema or the builder.

import { createHash } from "node:crypto";
import { lstatSync, readFileSync, type Stats, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { REF_NAME } from "../oci/types.js";
import { stableJson, upToDate } from "./incremental.js";

/** Bump when the record's meaning changes: older records then never answer. */
export const QUICK_VERSION = 1;

/** The state of a file or directory at the time it was read. `link` means lstat: the link, not its target. */
export interface FileState {
  path: string;
  link?: true;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  mode: number;
}

/** One thing a build key depends on. */
export type QuickDep =
  | FileState
  /** A path that did not exist (an optional source, a program earlier on PATH than the one found). */
  | { path: string; missing: true }
  /** A cache blob: content-addressed and verified on the way in, so being there with its size is enough. */
  | { path: string; blobSize: number };

/** The cache's index.json entry an image was resolved from. */
export interface QuickImage {
  name: string;
  digest: string;
  size: number;
  mediaType: string;
}

export interface QuickRecord {
  version: typeof QUICK_VERSION;
  quickKey: string;
  /** The cache the build used (absolute). */
  cacheDir: string;
  /** The full build key, whose outputs manifest `upToDate` checks. */
  key: string;
  deps: QuickDep[];
  images: QuickImage[];
  /** Lines the command prints whatever happens (the YAML's warnings), verbatim. */
  notes: string[];
  /** Progress lines a no-op prints (without the `kiln: ` prefix), shown unless quiet. */
  log: string[];
}

export interface QuickHit {
  key: string;
  /** Absolute paths of the outputs, as the build listed them. */
  outputs: string[];
  notes: string[];
  log: string[];
}

/** The cache directory a command uses: `--cache`, else $KILN_CACHE, else $XDG_CACHE_HOME/kiln, else ~/.cache/kiln. */
export function quickCacheDir(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(option ?? (env.KILN_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kiln")));
}

/** The key a record is stored under: a hash of `parts` (stable JSON, so key order does not matter). */
export function quickKey(parts: unknown): string {
  return createHash("sha256")
    .update(stableJson({ quick: QUICK_VERSION, parts }))
    .digest("hex");
}

export function quickRecordPath(cacheDir: string, key: string): string {
  return join(cacheDir, "builds", "quick", `${key}.json`);
}

/** The state of `path` now, or undefined when it does not exist. Other errors throw. */
export function fileState(path: string, link = false): FileState | undefined {
  const s: Stats | undefined = link ? lstatOrUndefined(path) : statSync(path, { throwIfNoEntry: false });
  if (!s) return undefined;
  return {
    path,
    ...(link ? { link: true as const } : {}),
    size: s.size,
    mtimeMs: s.mtimeMs,
    ctimeMs: s.ctimeMs,
    ino: s.ino,
    mode: s.mode,
  };
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR")
      return undefined;
    throw e;
  }
}

function holds(dep: QuickDep): boolean {
  if ("missing" in dep) return statSync(dep.path, { throwIfNoEntry: false }) === undefined;
  if ("blobSize" in dep) {
    const s = statSync(dep.path, { throwIfNoEntry: false });
    return s?.isFile() === true && s.size === dep.blobSize;
  }
  const now = fileState(dep.path, dep.link === true);
  return (
    now !== undefined &&
    now.size === dep.size &&
    now.mtimeMs === dep.mtimeMs &&
    now.ctimeMs === dep.ctimeMs &&
    now.ino === dep.ino &&
    now.mode === dep.mode
  );
}

/** The images' entries in the cache's index.json are still the ones the build resolved. */
function sameImages(cacheDir: string, images: readonly QuickImage[]): boolean {
  if (images.length === 0) return true;
  const index = JSON.parse(readFileSync(join(cacheDir, "index.json"), "utf8")) as {
    manifests?: Array<{
      digest?: string;
      size?: number;
      mediaType?: string;
      annotations?: Record<string, string>;
    }>;
  };
  const manifests = index.manifests ?? [];
  return images.every((img) => {
    // The first entry with the name, as the cache's own lookup takes it.
    const d = manifests.find((m) => m.annotations?.[REF_NAME] === img.name);
    return d !== undefined && d.digest === img.digest && d.size === img.size && d.mediaType === img.mediaType;
  });
}

function isRecord(r: unknown, quickKey: string, cacheDir: string): r is QuickRecord {
  const q = r as Partial<QuickRecord> | null;
  return (
    q !== null &&
    typeof q === "object" &&
    q.version === QUICK_VERSION &&
    q.quickKey === quickKey &&
    q.cacheDir === cacheDir &&
    typeof q.key === "string" &&
    Array.isArray(q.deps) &&
    Array.isArray(q.images) &&
    Array.isArray(q.notes) &&
    Array.isArray(q.log)
  );
}

/**
 * The outputs of the build `quickKey` names, when nothing it depends on changed and they are still in
 * place; otherwise undefined (and the caller takes the full path). Never throws.
 */
export async function checkQuick(cacheDir: string, quickKey: string): Promise<QuickHit | undefined> {
  try {
    const dir = resolve(cacheDir);
    const record: unknown = JSON.parse(readFileSync(quickRecordPath(dir, quickKey), "utf8"));
    if (!isRecord(record, quickKey, dir)) return undefined;
    for (const dep of record.deps) if (!holds(dep)) return undefined;
    if (!sameImages(dir, record.images)) return undefined;
    const manifest = await upToDate(dir, record.key);
    if (!manifest) return undefined;
    return {
      key: record.key,
      outputs: manifest.outputs.map((o) => o.path),
      notes: record.notes,
      log: record.log,
    };
  } catch {
    return undefined;
  }
}
