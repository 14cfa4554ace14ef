// Copying an image's blobs from a layout into the cache: one platform (image sources) or every platform
// the layout holds (`kiln cache import`).

import { KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import {
  type Descriptor,
  type ImageConfigBlob,
  type ImageIndex,
  type ImageManifest,
  INDEX_TYPES,
  MANIFEST_TYPES,
  REF_NAME,
} from "../oci/types.js";
import { selectPlatform } from "../registry/platform.js";
import type { ResolvedImage } from "../registry/pull.js";
import type { LayoutSource } from "./layout.js";

/** The descriptor as the cache's index.json should hold it: the layout's name annotation dropped. */
export function rootDescriptor(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d;
  const kept = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME));
  return Object.keys(kept).length > 0 ? { ...rest, annotations: kept } : rest;
}

async function kindOf(cache: OciCache, d: Descriptor, what: string): Promise<"index" | "manifest"> {
  if (INDEX_TYPES.has(d.mediaType)) return "index";
  if (MANIFEST_TYPES.has(d.mediaType)) return "manifest";
  // index.json entries may leave the media type out; the document says what it is.
  const doc = await cache.readJson<{ manifests?: unknown; layers?: unknown }>(d.digest);
  if (Array.isArray(doc.manifests)) return "index";
  if (Array.isArray(doc.layers)) return "manifest";
  throw new KilnError(`${what}: ${d.digest} is neither an image index nor a manifest (${d.mediaType})`, {
    hint: "kiln reads OCI and Docker schema 2 images",
  });
}

/** A manifest's config and layers into the cache; true when anything was copied. */
async function fetchManifest(cache: OciCache, layout: LayoutSource, d: Descriptor): Promise<boolean> {
  let copied = await layout.fetch(d);
  const manifest = await cache.readJson<ImageManifest>(d.digest);
  for (const blob of [manifest.config, ...manifest.layers]) copied = (await layout.fetch(blob)) || copied;
  return copied;
}

/** Import the `arch` image under `root`, tag it `name`, and return it resolved. */
export async function importPlatformImage(
  cache: OciCache,
  layout: LayoutSource,
  root: Descriptor,
  name: string,
  arch: string,
): Promise<ResolvedImage> {
  let copied = await layout.fetch(root);
  let manifestDescriptor = root;
  if ((await kindOf(cache, root, layout.what)) === "index") {
    const index = await cache.readJson<ImageIndex>(root.digest);
    manifestDescriptor = selectPlatform(index.manifests, arch, `${layout.what} (${name})`);
  }
  copied = (await fetchManifest(cache, layout, manifestDescriptor)) || copied;
  const manifest = await cache.readJson<ImageManifest>(manifestDescriptor.digest);
  const config = await cache.readJson<ImageConfigBlob>(manifest.config.digest);
  const tagged = rootDescriptor(root);
  await cache.tag(name, tagged);
  return { name, root: tagged, manifestDescriptor, manifest, config, fromCache: !copied };
}

/** Import every platform of `root` that the layout holds (a pulled layout has only some), and tag it. */
export async function importAllPlatforms(
  cache: OciCache,
  layout: LayoutSource,
  root: Descriptor,
  names: readonly string[],
): Promise<void> {
  await layout.fetch(root);
  if ((await kindOf(cache, root, layout.what)) === "index") {
    const index = await cache.readJson<ImageIndex>(root.digest);
    let found = 0;
    for (const child of index.manifests) {
      if (!(await layout.has(child))) continue;
      await layout.fetch(child);
      if ((await kindOf(cache, child, layout.what)) === "index") continue; // nested indexes: not followed
      await fetchManifest(cache, layout, child);
      found++;
    }
    if (found === 0) {
      throw new KilnError(`${layout.what}: the index ${root.digest} has none of its images in the layout`, {
        hint: "copy the image with its platforms (skopeo copy --all, or for one platform, without --all)",
      });
    }
  } else {
    await fetchManifest(cache, layout, root);
  }
  for (const name of names) await cache.tag(name, rootDescriptor(root));
}
