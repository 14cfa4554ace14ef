// An OCI image layout to import from: a directory read in place, or an archive already read into the cache.

import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { assertDigest } from "../cache/digest.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import { type ArchiveContents, archiveDocument } from "./archive.js";

export interface LayoutSource {
  /** The layout's path, for messages. */
  what: string;
  index: ImageIndex;
  /** Whether the layout (or the cache) has this blob. */
  has(d: Descriptor): Promise<boolean>;
  /** Put the blob in the cache, verified, unless it is there already. True when it was copied. */
  fetch(d: Descriptor): Promise<boolean>;
}

const LOCAL_HINT =
  "the layout is damaged or incomplete; re-create it (e.g. with skopeo copy or docker buildx --output type=oci)";

function parseIndex(bytes: Buffer, what: string): ImageIndex {
  let index: ImageIndex;
  try {
    index = JSON.parse(bytes.toString("utf8")) as ImageIndex;
  } catch (e) {
    throw new KilnError(`${what}: index.json is not valid JSON: ${(e as Error).message}`, {
      hint: LOCAL_HINT,
    });
  }
  if (!Array.isArray(index?.manifests)) {
    throw new KilnError(`${what}: index.json has no "manifests" list`, { hint: LOCAL_HINT });
  }
  return index;
}

function missing(what: string, d: Descriptor, file: string): KilnError {
  return new KilnError(`${what}: blob ${d.digest} is missing (${file})`, { hint: LOCAL_HINT });
}

/** An OCI layout directory, e.g. one written by `skopeo copy … oci:DIR:TAG` or `umoci`. */
export async function openLayoutDir(cache: OciCache, dir: string): Promise<LayoutSource> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, "index.json"));
  } catch {
    throw new KilnError(`${dir} is not an OCI image layout: it has no index.json`, {
      hint: "point oci-layout: at a directory made by skopeo copy … oci:DIR, umoci or docker buildx --output type=oci",
    });
  }
  const blobFile = (d: Descriptor) => join(dir, "blobs", "sha256", assertDigest(d.digest));
  const inLayout = async (d: Descriptor) => {
    try {
      return (await stat(blobFile(d))).isFile();
    } catch {
      return false;
    }
  };
  return {
    what: dir,
    index: parseIndex(bytes, dir),
    has: async (d) => (await cache.hasBlob(d.digest, d.size)) || (await inLayout(d)),
    async fetch(d) {
      if (await cache.hasBlob(d.digest, d.size)) return false;
      const file = blobFile(d);
      if (!(await inLayout(d))) throw missing(dir, d, file);
      try {
        await cache.writeBlob(d, createReadStream(file), `${file} (blob ${d.digest})`);
      } catch (e) {
        if (e instanceof KilnError) throw new KilnError(e.message, { hint: LOCAL_HINT, cause: e });
        throw e;
      }
      return true;
    },
  };
}

/** The OCI layout inside an archive read by readArchive, or undefined when it has no index.json. */
export function layoutFromArchive(cache: OciCache, contents: ArchiveContents): LayoutSource | undefined {
  const bytes = archiveDocument(contents, "index.json");
  if (!bytes) return undefined;
  const has = (d: Descriptor) => cache.hasBlob(d.digest, d.size);
  return {
    what: contents.what,
    index: parseIndex(bytes, contents.what),
    has,
    async fetch(d) {
      if (!(await has(d))) throw missing(contents.what, d, `blobs/sha256/${assertDigest(d.digest)}`);
      return false; // readArchive stored every blob, and counted the new ones
    },
  };
}
