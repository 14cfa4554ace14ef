// Blobs whose digest is learnt by reading them (docker-archive layers), and what their first bytes say.

import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { commitTemp, writeTemp } from "../cache/atomic.js";
import type { OciCache } from "../cache/cache.js";
import { MediaType } from "../oci/types.js";

export interface StoredBlob {
  digest: string;
  size: number;
}

export interface HashedBlob extends StoredBlob {
  /** False when the cache already had it. */
  isNew: boolean;
}

/** Stream a blob into the cache, hashing it on the way; it lands under the digest it turned out to have. */
export async function storeHashed(
  cache: OciCache,
  body: Readable | AsyncIterable<Uint8Array>,
): Promise<HashedBlob> {
  const hash = createHash("sha256");
  let size = 0;
  const tmp = await writeTemp(join(cache.dir, "blobs", "sha256", "import"), async (fh) => {
    for await (const chunk of body) {
      const buf = chunk as Uint8Array;
      hash.update(buf);
      size += buf.length;
      await fh.write(buf);
    }
  });
  const digest = `sha256:${hash.digest("hex")}`;
  const isNew = !(await cache.hasBlob(digest, size));
  if (isNew) await commitTemp(tmp, cache.blobPath(digest));
  else await rm(tmp, { force: true });
  return { digest, size, isNew };
}

/** The layer media type a blob's magic bytes call for: docker-archive layers carry no media type. */
export async function sniffLayerType(cache: OciCache, digest: string): Promise<string> {
  const fh = await open(cache.blobPath(digest), "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return MediaType.ociLayerGzip;
    if (bytesRead === 4 && head.readUInt32LE(0) === 0xfd2fb528) return MediaType.ociLayerZstd;
    return MediaType.ociLayer;
  } finally {
    await fh.close();
  }
}
