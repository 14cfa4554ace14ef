// An image from the cache as a `docker save` archive that `docker load` (and skopeo) read.

import { createHash } from "node:crypto";
import { formatImageRef, KilnError, parseRegistryRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { layerCompression, openLayer } from "../flatten/decompress.js";
import type { Entry } from "../flatten/entry.js";
import type { ResolvedImage } from "../registry/pull.js";
import { outputTime } from "./epoch.js";
import { type ArchiveOutput, writeTar } from "./tar-output.js";

/** The `name:tag` Docker will tag the loaded image with. */
export function dockerTag(tag: string): string {
  let ref: ReturnType<typeof parseRegistryRef>;
  try {
    ref = parseRegistryRef(tag);
  } catch (e) {
    throw new KilnError(`"${tag}" is not a valid Docker image name: ${(e as Error).message}`, {
      hint: "use NAME[:TAG], e.g. kiln/minio:dev",
    });
  }
  return formatImageRef({ kind: "registry", domain: ref.domain, path: ref.path, tag: ref.tag ?? "latest" });
}

function fileEntry(path: string, size: number, mtime: Date): Entry {
  return { path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime, size };
}

/** Bytes and diff_id of a layer once decompressed: Docker 20.10 cannot load zstd layers, so kiln inflates them. */
async function inflatedSize(path: string, mediaType: string): Promise<{ size: number; digest: string }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of await openLayer(path, mediaType)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, digest: `sha256:${hash.digest("hex")}` };
}

/**
 * Write `image` as a docker-archive: manifest.json first (so streaming readers know what follows), then
 * the config and the layers. gzip and plain layers go in as they are, as go-containerregistry writes
 * them; `docker load` inflates them itself. `tag`, when given, becomes the image's RepoTags.
 */
export async function writeDockerArchive(
  cache: OciCache,
  image: ResolvedImage,
  out: ArchiveOutput,
  tag?: string,
): Promise<void> {
  const mtime = outputTime();
  const configHex = image.manifest.config.digest.slice("sha256:".length);
  const layers = await Promise.all(
    image.manifest.layers.map(async (l) => {
      const hex = l.digest.slice("sha256:".length);
      const compression = layerCompression(l.mediaType);
      if (compression === "zstd") {
        const inflated = await inflatedSize(cache.blobPath(l.digest), l.mediaType);
        return {
          layer: l,
          name: `${inflated.digest.slice("sha256:".length)}.tar`,
          size: inflated.size,
          inflate: true,
        };
      }
      return {
        layer: l,
        name: compression === "gzip" ? `${hex}.tar.gz` : `${hex}.tar`,
        size: l.size,
        inflate: false,
      };
    }),
  );
  const manifest = [
    {
      Config: `${configHex}.json`,
      RepoTags: tag === undefined ? null : [dockerTag(tag)],
      Layers: layers.map((l) => l.name),
    },
  ];
  await writeTar(out, async (tar) => {
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    await tar.add(fileEntry("manifest.json", manifestBytes.length, mtime), manifestBytes);
    const config = await cache.readBlob(image.manifest.config.digest);
    await tar.add(fileEntry(`${configHex}.json`, config.length, mtime), config);
    const written = new Set<string>();
    for (const l of layers) {
      if (written.has(l.name)) continue; // an image may repeat a layer; the archive needs it once
      written.add(l.name);
      const body = l.inflate
        ? await openLayer(cache.blobPath(l.layer.digest), l.layer.mediaType)
        : cache.openBlob(l.layer.digest);
      await tar.add(fileEntry(l.name, l.size, mtime), body);
    }
  });
}
