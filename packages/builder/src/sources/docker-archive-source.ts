// `docker-archive:FILE`: a `docker save` archive (the legacy layout, or Docker 25's OCI-style one),
// converted into an OCI manifest and config in the cache. Layers are kept as they are, digests computed.

import { posix, resolve } from "node:path";
import { type DockerArchiveRef, formatImageRef, KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { sha256 } from "../cache/digest.js";
import { type Descriptor, type ImageConfigBlob, type ImageManifest, MediaType } from "../oci/types.js";
import { PlatformNotFoundError } from "../registry/platform.js";
import type { ResolvedImage } from "../registry/pull.js";
import { type ArchiveContents, archiveBlob, archiveDocument } from "./archive.js";
import { sniffLayerType } from "./blob-import.js";
import { openSource } from "./open-source.js";

/** One image of a docker-archive's manifest.json. */
export interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const ARCHIVE_HINT = "the archive is damaged or was not made by docker save; save the image again";

/** The images manifest.json lists, or undefined when there is no manifest.json. */
export function dockerArchiveEntries(contents: ArchiveContents): DockerArchiveEntry[] | undefined {
  const bytes = archiveDocument(contents, "manifest.json");
  if (!bytes) return undefined;
  let entries: DockerArchiveEntry[];
  try {
    entries = JSON.parse(bytes.toString("utf8")) as DockerArchiveEntry[];
  } catch (e) {
    throw new KilnError(`${contents.what}: manifest.json is not valid JSON: ${(e as Error).message}`, {
      hint: ARCHIVE_HINT,
    });
  }
  if (
    !Array.isArray(entries) ||
    entries.some((e) => typeof e?.Config !== "string" || !Array.isArray(e.Layers))
  ) {
    throw new KilnError(`${contents.what}: manifest.json is not a docker-archive manifest`, {
      hint: ARCHIVE_HINT,
    });
  }
  return entries;
}

async function configBytes(cache: OciCache, contents: ArchiveContents, path: string): Promise<Buffer> {
  const doc = archiveDocument(contents, path);
  if (doc) {
    // The legacy layout names the config after its own digest: check it, as for any blob.
    const hex = /^([a-f0-9]{64})\.json$/.exec(posix.basename(path))?.[1];
    if (hex && sha256(doc) !== `sha256:${hex}`) {
      throw new KilnError(
        `${contents.what}: ${path}: content does not match its digest (expected sha256:${hex}, got ${sha256(doc)})`,
        { hint: ARCHIVE_HINT },
      );
    }
    return doc;
  }
  const blob = archiveBlob(contents, path);
  if (!blob)
    throw new KilnError(`${contents.what}: the image config ${path} is missing`, { hint: ARCHIVE_HINT });
  return cache.readBlob(blob.digest);
}

export interface ConvertedImage {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfigBlob;
}

/** Write the OCI manifest and config for one docker-archive image; its layers are already in the cache. */
export async function convertDockerImage(
  cache: OciCache,
  contents: ArchiveContents,
  entry: DockerArchiveEntry,
): Promise<ConvertedImage> {
  const what = contents.what;
  const bytes = await configBytes(cache, contents, entry.Config);
  let config: ImageConfigBlob;
  try {
    config = JSON.parse(bytes.toString("utf8")) as ImageConfigBlob;
  } catch (e) {
    throw new KilnError(`${what}: ${entry.Config} is not valid JSON: ${(e as Error).message}`, {
      hint: ARCHIVE_HINT,
    });
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw new KilnError(
      `${what}: manifest.json lists ${entry.Layers.length} layers but the image config has ${diffIds.length}`,
      { hint: ARCHIVE_HINT },
    );
  }
  const configDescriptor = await cache.putBytes(bytes, MediaType.ociConfig);
  const layers: Descriptor[] = [];
  for (const [i, path] of entry.Layers.entries()) {
    const blob = archiveBlob(contents, path);
    if (!blob) throw new KilnError(`${what}: the layer ${path} is missing`, { hint: ARCHIVE_HINT });
    const mediaType = await sniffLayerType(cache, blob.digest);
    // An uncompressed layer's digest is its diff_id, so the config vouches for it.
    if (mediaType === MediaType.ociLayer && blob.digest !== diffIds[i]) {
      throw new KilnError(
        `${what}: ${path}: content does not match the image config's diff_id (expected ${diffIds[i]}, got ${blob.digest})`,
        { hint: ARCHIVE_HINT },
      );
    }
    layers.push({ mediaType, digest: blob.digest, size: blob.size });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers,
  };
  const manifestDescriptor = await cache.putBytes(
    Buffer.from(JSON.stringify(manifest)),
    MediaType.ociManifest,
  );
  return { manifestDescriptor, manifest, config };
}

/** The only image of a docker-archive, converted; more than one is an error naming them. */
export async function convertOnlyImage(cache: OciCache, contents: ArchiveContents): Promise<ConvertedImage> {
  const entries = dockerArchiveEntries(contents);
  if (!entries) {
    throw new KilnError(`${contents.what} is not a docker-archive: it has no manifest.json`, {
      hint: contents.documents.has("index.json")
        ? "it looks like an OCI image layout: use oci-layout: instead"
        : "make one with docker save IMAGE -o FILE",
    });
  }
  if (entries.length !== 1) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new KilnError(
      `${contents.what} holds ${entries.length} images${tags.length ? ` (${tags.join(", ")})` : ""}`,
      {
        hint: "save one image per archive (docker save IMAGE -o FILE)",
      },
    );
  }
  return convertDockerImage(cache, contents, entries[0]!);
}

/** A converted single-platform image must be of the architecture the build is for. */
export function checkArchitecture(config: ImageConfigBlob, arch: string, what: string): void {
  if (config.architecture && config.architecture !== arch) {
    throw new PlatformNotFoundError(
      `${what} is a ${config.os ?? "linux"}/${config.architecture} image, not linux/${arch}`,
      "save an image of the right architecture, or build for its architecture with --arch",
    );
  }
}

/** Import the image `ref` names into the cache, tagged `docker-archive:/abs/file`, and resolve it. */
export async function resolveDockerArchive(
  cache: OciCache,
  ref: DockerArchiveRef,
  arch: string,
): Promise<ResolvedImage> {
  const path = resolve(ref.path);
  const name = formatImageRef({ ...ref, path });
  const opened = await openSource(cache, path, name);
  if (opened.kind === "directory") {
    throw new KilnError(`${name}: ${path} is a directory, not a docker save archive`, {
      hint: `for an OCI layout directory use oci-layout:${ref.path}`,
    });
  }
  const converted = await convertOnlyImage(cache, opened.contents);
  checkArchitecture(converted.config, arch, name);
  await cache.tag(name, converted.manifestDescriptor);
  return {
    name,
    root: converted.manifestDescriptor,
    ...converted,
    fromCache: opened.contents.stored === 0,
  };
}
