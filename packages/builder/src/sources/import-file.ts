// `kiln cache import FILE`: every image of an OCI layout (directory or tar) or a docker-archive, merged
// into the cache under the names it carries.

import { resolve } from "node:path";
import { formatImageRef, KilnError, parseRegistryRef } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { REF_NAME } from "../oci/types.js";
import { convertDockerImage, dockerArchiveEntries } from "./docker-archive-source.js";
import { importAllPlatforms } from "./import-image.js";
import { type LayoutSource, layoutFromArchive } from "./layout.js";
import { openSource } from "./open-source.js";

export interface ImportedImage {
  name: string;
  digest: string;
}

const BARE_TAG = /^[\w][\w.-]{0,127}$/;

/**
 * The cache name for a name found in an archive: full image names normalised (`alpine:3.20` →
 * `docker.io/library/alpine:3.20`); a bare tag, as skopeo writes into layouts, is kept with the file it
 * came from, the name an `oci-layout:FILE:TAG` reference would give it.
 */
function cacheName(
  found: string | undefined,
  source: string | undefined,
  kind: "oci-layout" | "docker-archive",
): string {
  if (found && !BARE_TAG.test(found)) {
    try {
      return formatImageRef(parseRegistryRef(found));
    } catch {
      return found;
    }
  }
  if (source === undefined) {
    throw new KilnError(`an image on standard input has ${found ? `only the tag "${found}"` : "no name"}`, {
      hint: "import it from a file instead, so kiln can name it after the file",
    });
  }
  if (kind === "docker-archive") return formatImageRef({ kind, path: source });
  return formatImageRef(found ? { kind, path: source, tag: found } : { kind, path: source });
}

async function importLayout(
  cache: OciCache,
  layout: LayoutSource,
  source: string | undefined,
): Promise<ImportedImage[]> {
  const imported: ImportedImage[] = [];
  for (const d of layout.index.manifests) {
    const name = cacheName(d.annotations?.[REF_NAME], source, "oci-layout");
    await importAllPlatforms(cache, layout, d, [name]);
    imported.push({ name, digest: d.digest });
  }
  return imported;
}

/**
 * Import `path` ("-" with `stdin` for standard input): an OCI layout directory or tar (index.json's images,
 * with every platform present), or a docker-archive (each image converted to OCI). Every blob is verified.
 */
export async function importImageFile(
  cache: OciCache,
  path: string,
  stdin?: NodeJS.ReadableStream,
): Promise<ImportedImage[]> {
  const source = path === "-" ? undefined : resolve(path);
  const opened = await openSource(
    cache,
    source ?? "-",
    source ?? "standard input",
    path === "-" ? (stdin ?? process.stdin) : undefined,
  );
  if (opened.kind === "directory") return importLayout(cache, opened.layout, source);
  const layout = layoutFromArchive(cache, opened.contents);
  if (layout) return importLayout(cache, layout, source);
  const entries = dockerArchiveEntries(opened.contents);
  if (!entries) {
    throw new KilnError(`${opened.contents.what} is neither an OCI image layout nor a docker-archive`, {
      hint: "it has no index.json and no manifest.json; make one with skopeo copy, docker save or kiln cache export",
    });
  }
  const imported: ImportedImage[] = [];
  for (const entry of entries) {
    const { manifestDescriptor } = await convertDockerImage(cache, opened.contents, entry);
    const tags = entry.RepoTags?.length ? entry.RepoTags : [undefined];
    for (const tag of tags) {
      const name = cacheName(tag, source, "docker-archive");
      await cache.tag(name, manifestDescriptor);
      imported.push({ name, digest: manifestDescriptor.digest });
    }
  }
  return imported;
}
