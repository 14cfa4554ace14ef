// An image from the cache as one tar of its root filesystem: the layers flattened, whiteouts applied.

import type { OciCache } from "../cache/cache.js";
import { openLayer } from "../flatten/decompress.js";
import { flattenLayers } from "../flatten/flatten.js";
import type { ResolvedImage } from "../registry/pull.js";
import { type ArchiveOutput, writeTar } from "./tar-output.js";

/**
 * Write the flattened root filesystem of `image`. Entries come in flattening order (layer by layer,
 * bottom first, each in its tar's order) with the image's own modes, owners and times, so the same
 * image always gives the same bytes.
 */
export async function writeFilesystem(
  cache: OciCache,
  image: ResolvedImage,
  out: ArchiveOutput,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const layers = image.manifest.layers.map((l) => ({
    digest: l.digest,
    open: () => openLayer(cache.blobPath(l.digest), l.mediaType),
  }));
  await writeTar(out, async (tar) => {
    for await (const { entry, body } of flattenLayers(layers, options)) await tar.add(entry, body);
  });
}
