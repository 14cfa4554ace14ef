// An image from the cache to a registry: blobs the repository lacks, then the manifest under a tag.

import { formatImageRef, KilnError, parseRegistryRef, type RegistryRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import type { RegistryClient } from "./client.js";
import type { ResolvedImage } from "./pull.js";

export interface PushOptions {
  /** The tag when `target` has none. */
  defaultTag?: string;
  /** Called per blob: uploaded, or skipped because the registry had it. */
  onBlob?: (event: { digest: string; size: number; uploaded: boolean }) => void;
}

export interface PushedImage {
  /** The full reference pushed to, e.g. `127.0.0.1:5000/kiln/runc:0123456789abcdef`. */
  name: string;
  /** The manifest's digest: pull `name@digest` to get exactly this image. */
  digest: string;
}

/**
 * Push `image` (its platform manifest, config and layers) to `target` (`REGISTRY/NAME[:TAG]`). Blobs the
 * repository already has are not sent again. Registry auth is the same as for pulls.
 */
export async function pushImage(
  client: RegistryClient,
  cache: OciCache,
  image: ResolvedImage,
  target: string | RegistryRef,
  options: PushOptions = {},
): Promise<PushedImage> {
  const ref = typeof target === "string" ? parseRegistryRef(target) : { ...target };
  if (ref.digest !== undefined) {
    throw new KilnError(`${formatImageRef(ref)}: push to a tag, not a digest`, {
      hint: "the registry names the manifest's digest itself; give REGISTRY/NAME[:TAG]",
    });
  }
  ref.tag ??= options.defaultTag ?? "latest";
  for (const blob of [image.manifest.config, ...image.manifest.layers]) {
    if (await client.hasBlob(ref, blob.digest)) {
      options.onBlob?.({ digest: blob.digest, size: blob.size, uploaded: false });
      continue;
    }
    await client.pushBlob(ref, blob, () => cache.openBlob(blob.digest));
    options.onBlob?.({ digest: blob.digest, size: blob.size, uploaded: true });
  }
  const bytes = await cache.readBlob(image.manifestDescriptor.digest);
  const reported = await client.putManifest(ref, ref.tag, bytes, image.manifestDescriptor.mediaType);
  const digest = image.manifestDescriptor.digest;
  if (reported !== undefined && reported !== digest) {
    throw new KilnError(
      `${formatImageRef(ref)}: the registry stored the manifest as ${reported}, not ${digest}`,
      {
        hint: "the registry rewrote the manifest; pull it by tag, or use a registry that keeps manifests as sent",
      },
    );
  }
  return { name: formatImageRef(ref), digest };
}
