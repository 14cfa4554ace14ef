// A build is a no-op when nothing it depends on changed and its outputs are still the ones it wrote.
//
// The key hashes everything an output's bytes depend on: the merged config, the digest of every image's
// manifest, the contents of every `files: source:`, the formats and options, and kiln's version. The
// manifest stored under that key in the cache lists each output with its size, mtime and sha256; the
// no-op check compares size and mtime only, so it costs one stat per output.

import { createHash } from "node:crypto";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../cache/atomic.js";
import { fileSha256 } from "../cache/file-sha256.js";

export interface OutputRecord {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface BuildManifest {
  key: string;
  kiln: string;
  outputs: OutputRecord[];
}

/** JSON with object keys sorted, so equal values always hash the same. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });
}

export function buildKey(inputs: unknown): string {
  return createHash("sha256").update(stableJson(inputs)).digest("hex");
}

export { fileSha256 };

const manifestPath = (cacheDir: string, key: string) => join(cacheDir, "builds", `${key}.json`);

/** The outputs of an earlier build with this key, if they are all still there, unchanged. */
export async function upToDate(cacheDir: string, key: string): Promise<BuildManifest | undefined> {
  let manifest: BuildManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath(cacheDir, key), "utf8")) as BuildManifest;
  } catch {
    return undefined;
  }
  if (manifest.key !== key || !Array.isArray(manifest.outputs) || manifest.outputs.length === 0)
    return undefined;
  for (const o of manifest.outputs) {
    try {
      const s = await stat(o.path);
      if (!s.isFile() || s.size !== o.size || s.mtimeMs !== o.mtimeMs) return undefined;
    } catch {
      return undefined;
    }
  }
  return manifest;
}

export async function recordBuild(cacheDir: string, manifest: BuildManifest): Promise<void> {
  await mkdir(join(cacheDir, "builds"), { recursive: true });
  await writeFileAtomic(manifestPath(cacheDir, manifest.key), `${JSON.stringify(manifest, null, 2)}\n`);
}
