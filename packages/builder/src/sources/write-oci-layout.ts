// An image from the cache as an OCI image layout: a directory (merged into, like a cache) or a tar.

import { readdir, stat } from "node:fs/promises";
import { KilnError } from "@kiln/spec";
import { OciCache } from "../cache/cache.js";
import type { Entry } from "../flatten/entry.js";
import { type Descriptor, type ImageIndex, MediaType, REF_NAME } from "../oci/types.js";
import type { ResolvedImage } from "../registry/pull.js";
import { outputTime } from "./epoch.js";
import { type ArchiveOutput, writeTar } from "./tar-output.js";

/** The image's platform manifest, named `tag`, as index.json lists it. */
function indexEntry(image: ResolvedImage, tag: string): Descriptor {
  const { mediaType, digest, size } = image.manifestDescriptor;
  const d: Descriptor = { mediaType, digest, size, annotations: { [REF_NAME]: tag } };
  if (image.config.architecture && image.config.os)
    d.platform = { architecture: image.config.architecture, os: image.config.os };
  return d;
}

function blobsOf(image: ResolvedImage): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const d of [image.manifestDescriptor, image.manifest.config, ...image.manifest.layers])
    seen.set(d.digest, d);
  return [...seen.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

async function writeLayoutDir(
  cache: OciCache,
  image: ResolvedImage,
  dir: string,
  tag: string,
): Promise<void> {
  let names: string[] = [];
  try {
    if ((await stat(dir)).isDirectory()) names = await readdir(dir);
  } catch {
    // a new directory
  }
  if (names.length > 0 && !names.includes("oci-layout")) {
    throw new KilnError(`${dir} exists and is not an OCI image layout`, {
      hint: "give a new or empty directory, an existing layout to add the image to, or a path ending in .tar",
    });
  }
  const target = await OciCache.open(dir);
  for (const d of blobsOf(image)) {
    if (!(await target.hasBlob(d.digest, d.size)))
      await target.writeBlob(d, cache.openBlob(d.digest), `cached blob ${d.digest}`);
  }
  const { annotations: _, ...root } = indexEntry(image, tag);
  await target.tag(tag, root);
}

/**
 * Write `image` (its platform manifest, config and layers) as an OCI layout named `tag`: into a directory,
 * merging with a layout already there, or as a tar when `out` ends in `.tar` or is a stream.
 */
export async function writeOciLayout(
  cache: OciCache,
  image: ResolvedImage,
  out: ArchiveOutput,
  tag: string = image.name,
): Promise<void> {
  if (typeof out === "string" && !out.endsWith(".tar")) return writeLayoutDir(cache, image, out, tag);
  const mtime = outputTime();
  const entry = (path: string, type: Entry["type"], size = 0): Entry => ({
    path,
    type,
    mode: type === "directory" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime,
    size,
  });
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [indexEntry(image, tag)],
  };
  await writeTar(out, async (tar) => {
    const layout = Buffer.from('{"imageLayoutVersion":"1.0.0"}');
    const indexBytes = Buffer.from(JSON.stringify(index));
    await tar.add(entry("oci-layout", "file", layout.length), layout);
    await tar.add(entry("index.json", "file", indexBytes.length), indexBytes);
    await tar.add(entry("blobs", "directory"));
    await tar.add(entry("blobs/sha256", "directory"));
    for (const d of blobsOf(image)) {
      await tar.add(
        entry(`blobs/sha256/${d.digest.slice("sha256:".length)}`, "file", d.size),
        cache.openBlob(d.digest),
      );
    }
  });
}
