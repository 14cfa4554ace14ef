import { formatImageRef, KilnError, parseRegistryRef, type RegistryRef } from "@kiln/spec";
import pLimit from "p-limit";
import type { OciCache } from "../cache/cache.js";
import { sha256 } from "../cache/digest.js";
import {
  type Descriptor,
  type ImageConfigBlob,
  type ImageIndex,
  type ImageManifest,
  INDEX_TYPES,
  MANIFEST_TYPES,
  MediaType,
} from "../oci/types.js";
import type { RegistryClient } from "./client.js";
import { hostArch, PlatformNotFoundError, selectPlatform } from "./platform.js";

const ACCEPT = [MediaType.ociIndex, MediaType.dockerList, MediaType.ociManifest, MediaType.dockerManifest];

export interface PullOptions {
  arch?: string;
  /** Always ask the registry, even when the cache has every blob (`--pull`). */
  force?: boolean;
  /** Layers downloaded at once. */
  concurrency?: number;
  /** Called with the layer and byte counts as they stream in. */
  onProgress?: (event: { digest: string; size: number; received: number; cached: boolean }) => void;
  /** Attempts per blob when a transfer breaks or arrives corrupt. */
  blobAttempts?: number;
}

/** An image resolved to one platform, with every blob in the cache. */
export interface ResolvedImage {
  /** The name it is tagged with in the cache: the normalised reference. */
  name: string;
  root: Descriptor;
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfigBlob;
  /** True when nothing was fetched. */
  fromCache: boolean;
}

/** Resolve a cached image to its platform manifest without any network access, or undefined if incomplete. */
export async function resolveCached(
  cache: OciCache,
  name: string,
  arch: string,
): Promise<ResolvedImage | undefined> {
  const root = await cache.resolve(name);
  if (!root || !(await cache.hasBlob(root.digest, root.size))) return undefined;
  try {
    let manifestDescriptor = root;
    if (INDEX_TYPES.has(root.mediaType)) {
      const index = await cache.readJson<ImageIndex>(root.digest);
      manifestDescriptor = selectPlatform(index.manifests, arch, name);
      if (!(await cache.hasBlob(manifestDescriptor.digest, manifestDescriptor.size))) return undefined;
    }
    const manifest = await cache.readJson<ImageManifest>(manifestDescriptor.digest);
    for (const d of [manifest.config, ...manifest.layers]) {
      if (!(await cache.hasBlob(d.digest, d.size))) return undefined;
    }
    const config = await cache.readJson<ImageConfigBlob>(manifest.config.digest);
    return { name, root, manifestDescriptor, manifest, config, fromCache: true };
  } catch (e) {
    // A damaged or partial cache entry means "pull it"; a missing platform is the same answer online.
    if (e instanceof PlatformNotFoundError) throw e;
    return undefined;
  }
}

function mediaTypeOf(bytes: Buffer, header: string): string {
  try {
    const doc = JSON.parse(bytes.toString("utf8")) as {
      mediaType?: string;
      manifests?: unknown;
      layers?: unknown;
    };
    if (doc.mediaType) return doc.mediaType;
    if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
    if (Array.isArray(doc.layers)) return MediaType.ociManifest;
  } catch {
    // fall through to the header
  }
  return header;
}

/**
 * Get an image into the cache: cache first (no request at all when every blob of the platform is
 * there), then the registry. Only the selected platform's manifest, config and layers are fetched.
 */
export async function pullImage(
  client: RegistryClient,
  cache: OciCache,
  reference: string | RegistryRef,
  options: PullOptions = {},
): Promise<ResolvedImage> {
  const ref = typeof reference === "string" ? parseRegistryRef(reference) : reference;
  const name = formatImageRef(ref);
  const arch = options.arch ?? hostArch();
  if (!options.force) {
    const cached = await resolveCached(cache, name, arch);
    if (cached) return cached;
  }
  const fetched = await client.manifest(ref, ref.digest ?? ref.tag ?? "latest", ACCEPT);
  const rootDigest = sha256(fetched.bytes);
  if (ref.digest && rootDigest !== ref.digest) {
    throw new KilnError(`${name}: the registry sent a manifest with digest ${rootDigest}`, {
      hint: "the registry or a proxy altered it; nothing was stored",
    });
  }
  const rootType = mediaTypeOf(fetched.bytes, fetched.mediaType);
  const root = await cache.putBytes(fetched.bytes, rootType);

  let manifestDescriptor = root;
  let manifestBytes = fetched.bytes;
  if (INDEX_TYPES.has(rootType)) {
    const index = JSON.parse(fetched.bytes.toString("utf8")) as ImageIndex;
    manifestDescriptor = selectPlatform(index.manifests, arch, name);
    if (await cache.hasBlob(manifestDescriptor.digest, manifestDescriptor.size)) {
      manifestBytes = await cache.readBlob(manifestDescriptor.digest);
    } else {
      const m = await client.manifest(ref, manifestDescriptor.digest, ACCEPT);
      await cache.writeBlob(manifestDescriptor, [m.bytes], `${name} manifest ${manifestDescriptor.digest}`);
      manifestBytes = m.bytes;
    }
  } else if (!MANIFEST_TYPES.has(rootType)) {
    throw new KilnError(`${name}: unsupported manifest type "${rootType}"`, {
      hint: "kiln reads OCI and Docker schema 2 images; re-push the image with a current tool",
    });
  }
  const manifest = JSON.parse(manifestBytes.toString("utf8")) as ImageManifest;

  const limit = pLimit(options.concurrency ?? 4);
  const attempts = options.blobAttempts ?? 3;
  // allSettled, not all: a failed pull returns only after every other download has finished or
  // cleaned up, so no temp file outlives the error.
  const settled = await Promise.allSettled(
    [manifest.config, ...manifest.layers].map((d) =>
      limit(async () => {
        if (await cache.hasBlob(d.digest, d.size)) {
          options.onProgress?.({ digest: d.digest, size: d.size, received: d.size, cached: true });
          return;
        }
        for (let attempt = 1; ; attempt++) {
          let received = 0;
          try {
            const body = await client.blob(ref, d.digest);
            await cache.writeBlob(d, body, `${name} blob ${d.digest}`, (n) => {
              received += n;
              options.onProgress?.({ digest: d.digest, size: d.size, received, cached: false });
            });
            return;
          } catch (e) {
            if (attempt >= attempts) throw e;
          }
        }
      }),
    ),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  const config = await cache.readJson<ImageConfigBlob>(manifest.config.digest);
  await cache.tag(name, root);
  return { name, root, manifestDescriptor, manifest, config, fromCache: false };
}
