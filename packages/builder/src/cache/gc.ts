import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pruneBuildRecords } from "../build/prune-records.js";
import { type ImageIndex, type ImageManifest, INDEX_TYPES } from "../oci/types.js";
import type { OciCache } from "./cache.js";
import { pruneImageEntries } from "./image-entries.js";
import { withLock } from "./lock.js";
import { PieceStore } from "./pieces.js";

/** Blobs younger than this are spared: they may belong to a pull that has not tagged its image yet. */
const GRACE_MS = 10 * 60_000;

/** Every blob reachable from the cache's index.json. Missing children (other platforms) are skipped. */
export async function reachableBlobs(cache: OciCache): Promise<Set<string>> {
  const seen = new Set<string>();
  const visit = async (digest: string, mediaType: string): Promise<void> => {
    if (seen.has(digest) || !(await cache.hasBlob(digest))) return;
    seen.add(digest);
    if (INDEX_TYPES.has(mediaType)) {
      const index = await cache.readJson<ImageIndex>(digest);
      for (const m of index.manifests) await visit(m.digest, m.mediaType);
    } else if (mediaType.endsWith("manifest.v1+json") || mediaType.endsWith("manifest.v2+json")) {
      const manifest = await cache.readJson<ImageManifest>(digest);
      for (const d of [manifest.config, ...manifest.layers])
        if (await cache.hasBlob(d.digest)) seen.add(d.digest);
    }
  };
  for (const { descriptor } of await cache.list()) await visit(descriptor.digest, descriptor.mediaType);
  return seen;
}

/**
 * Delete blobs no image in the index refers to, initrd pieces of images that are gone or unused for two
 * weeks, kernels extracted from images that are gone, and build records that can no longer answer.
 * Returns what was freed.
 */
export async function collectGarbage(
  cache: OciCache,
  now = Date.now(),
): Promise<{ removed: number; bytes: number }> {
  return withLock(cache.dir, async () => {
    const keep = await reachableBlobs(cache);
    let removed = 0;
    let bytes = 0;
    for (const digest of await cache.blobDigests()) {
      if (keep.has(digest)) continue;
      const path = cache.blobPath(digest);
      const s = await stat(path);
      if (now - s.mtimeMs < GRACE_MS) continue;
      await rm(path, { force: true });
      removed++;
      bytes += s.size;
    }
    const pieces = await new PieceStore(join(cache.dir, "initrd-pieces")).prune(keep, {
      now,
      graceMs: GRACE_MS,
    });
    const boot = await pruneImageEntries(join(cache.dir, "boot"), keep, { now, graceMs: GRACE_MS });
    const records = await pruneBuildRecords(cache.dir, { now, graceMs: GRACE_MS });
    return { removed: removed + pieces.removed + boot.removed + records, bytes: bytes + pieces.bytes };
  });
}
