import { rm } from "node:fs/promises";
import { formatImageRef, KilnError, parseRegistryRef, type RegistryRef } from "@kiln/spec";
import pLimit from "p-limit";
import { commitTemp, tempPathFor } from "../cache/atomic.js";
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
import { acquireBlobWorkers, type BlobWorkers } from "./blob-workers.js";
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
  /**
   * Blobs of at least this many bytes are downloaded, hashed and written by worker threads, so parallel
   * layers use every core; smaller ones (configs) are not worth a thread. `Infinity` turns workers off.
   */
  workerMinBytes?: number;
}

const WORKER_MIN_BYTES = 1024 * 1024;

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
  const { workers, release } = acquireBlobWorkers();
  // Threads start while the manifests are fetched, so their start-up is off the critical path.
  if ((options.workerMinBytes ?? WORKER_MIN_BYTES) !== Number.POSITIVE_INFINITY) workers.warm();
  try {
    return await fetchImage(client, cache, ref, name, arch, options, workers);
  } finally {
    await release();
  }
}

/** pullImage once the cache has said no: the registry's manifests, then the missing blobs. */
async function fetchImage(
  client: RegistryClient,
  cache: OciCache,
  ref: RegistryRef,
  name: string,
  arch: string,
  options: PullOptions,
  workers: BlobWorkers,
): Promise<ResolvedImage> {
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
  const workerMin = options.workerMinBytes ?? WORKER_MIN_BYTES;
  // allSettled, not all: a failed pull returns only after every other download has finished or
  // cleaned up, so no temp file outlives the error.
  const settled = await Promise.allSettled(
    [manifest.config, ...manifest.layers].map((d) =>
      limit(async () => {
        if (await cache.hasBlob(d.digest, d.size)) {
          options.onProgress?.({ digest: d.digest, size: d.size, received: d.size, cached: true });
          return;
        }
        const report = (received: number) =>
          options.onProgress?.({ digest: d.digest, size: d.size, received, cached: false });
        let attempt = 1;
        if (d.size >= workerMin) {
          const outcome = await downloadInWorker(workers, client, cache, ref, d, report);
          if (outcome === "stored") return;
          // A broken or corrupt transfer was one attempt; any other answer is the client's to handle.
          if (outcome === "failed") attempt = 2;
        }
        for (; ; attempt++) {
          let received = 0;
          try {
            const body = await client.blob(ref, d.digest);
            await cache.writeBlob(d, body, `${name} blob ${d.digest}`, (n) => {
              received += n;
              report(received);
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

/**
 * One attempt at a blob in a worker thread. The worker reports the digest and size of what it wrote;
 * the temp file is renamed into the cache only if they match the descriptor.
 */
async function downloadInWorker(
  workers: BlobWorkers,
  client: RegistryClient,
  cache: OciCache,
  ref: RegistryRef,
  d: Descriptor,
  report: (received: number) => void,
): Promise<"stored" | "failed" | "status"> {
  const target = cache.blobPath(d.digest);
  const tmp = tempPathFor(target);
  const result = await workers.fetch({ ...client.blobTarget(ref, d.digest), tmp, size: d.size }, report);
  if (result.type === "status") return "status";
  if (result.type === "error") return "failed"; // the worker removed its temp file
  if (result.digest !== d.digest || result.size !== d.size) {
    await rm(tmp, { force: true });
    return "failed";
  }
  await commitTemp(tmp, target);
  return "stored";
}
