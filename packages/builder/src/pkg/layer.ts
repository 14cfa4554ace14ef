// The image's one layer: the tree as a deterministic tar, gzip'd with Node's zlib at a fixed level, written
// to a temp file while both digests (the tar's diff_id and the blob's digest) are computed on the way.

import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants, createGzip } from "node:zlib";
import { tarStream } from "./tar.js";
import type { TreeEntry } from "./tree.js";

/** Part of the tag: changing it changes every layer's bytes. */
export const GZIP_LEVEL = 6;

export interface WrittenLayer {
  file: string;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** sha256 and size of the gzip'd blob. */
  digest: string;
  size: number;
}

function tap(hash: Hash, count?: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (count) count.n += chunk.length;
      cb(null, chunk);
    },
  });
}

export async function writeLayer(
  entries: Iterable<TreeEntry>,
  file: string,
  signal?: AbortSignal,
): Promise<WrittenLayer> {
  const raw = createHash("sha256");
  const gz = createHash("sha256");
  const count = { n: 0 };
  await pipeline(
    tarStream(entries, signal),
    tap(raw),
    createGzip({ level: GZIP_LEVEL, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY }),
    tap(gz, count),
    createWriteStream(file),
    signal ? { signal } : {},
  );
  return { file, diffId: `sha256:${raw.digest("hex")}`, digest: `sha256:${gz.digest("hex")}`, size: count.n };
}

/** The tree as a plain tar file (kernel.tar). */
export async function writeTar(
  entries: Iterable<TreeEntry>,
  file: string,
  signal?: AbortSignal,
): Promise<void> {
  await pipeline(tarStream(entries, signal), createWriteStream(file), signal ? { signal } : {});
}
