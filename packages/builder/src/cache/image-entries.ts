// Cache entries made from images (initrd pieces, extracted kernels) are named `IMAGEHEX-REST`, after the
// manifest digest of the image they came from, so `kiln cache gc` can drop those of images that are gone
// without opening them.

import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

const imageHex = (digest: string) => digest.replace(/^sha256:/, "");

/** The name of an entry made from the image with manifest digest `digest`. */
export function imageEntryName(digest: string, rest: string): string {
  return `${imageHex(digest)}-${rest}`;
}

export interface PruneOptions {
  now?: number;
  /** Entries younger than this stay whatever else holds: a build may be writing them right now. */
  graceMs?: number;
  /** Entries not used (touched) for this long go too. */
  maxAgeMs?: number;
  /** Names without it are not entries (temp files left by an interrupted write) and go. */
  suffix?: string;
}

/** Remove the entries of `dir` whose image is not in `keep` (manifest digests), and as `o` says. */
export async function pruneImageEntries(
  dir: string,
  keep: ReadonlySet<string>,
  o: PruneOptions = {},
): Promise<{ removed: number; bytes: number }> {
  const now = o.now ?? Date.now();
  const grace = o.graceMs ?? 10 * 60_000;
  const kept = new Set([...keep].map(imageHex));
  let removed = 0;
  let bytes = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const s = await stat(path).catch(() => undefined);
    if (!s) continue;
    const age = now - s.mtimeMs;
    const stale =
      !kept.has(name.split("-")[0]!) ||
      (o.suffix !== undefined && !name.endsWith(o.suffix)) ||
      (o.maxAgeMs !== undefined && age > o.maxAgeMs);
    if (!stale || age < grace) continue;
    await rm(path, { recursive: true, force: true });
    removed++;
    if (s.isFile()) bytes += s.size;
  }
  return { removed, bytes };
}
