// One pass over an image archive (an OCI layout tar or a docker-archive, gzip'd or not), so that a
// `docker save` stream or standard input can be read as it arrives. Every file that could be a blob goes
// straight into the cache: under `blobs/ALG/HEX` it is verified against its name, anything else (legacy
// docker-archive layers) is hashed on the way. The small metadata files are kept in memory.

import { posix } from "node:path";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { KilnError } from "@kiln/spec";
import type { OciCache } from "../cache/cache.js";
import { drain, readTar } from "../flatten/tar-reader.js";
import { type StoredBlob, storeHashed } from "./blob-import.js";

export interface ArchiveContents {
  /** The archive's name in messages. */
  what: string;
  /** index.json, manifest.json, oci-layout, repositories and `*.json` configs, by path. */
  documents: Map<string, Buffer>;
  /** Every other file, now in the cache, by path. */
  blobs: Map<string, StoredBlob>;
  /** Symlinks and hard links (docker save links repeated layers), path → target path. */
  links: Map<string, string>;
  /** How many blobs were new to the cache. */
  stored: number;
}

const MAX_DOCUMENT = 16 * 1024 * 1024;
const DOCUMENT = /(^|\/)(index\.json|manifest\.json|oci-layout|repositories)$|\.json$/;
/** Per-layer bookkeeping of the legacy docker-archive format that kiln has no use for. */
const IGNORED = /(^|\/)(VERSION|json)$/;
const BLOB = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/;

function clean(path: string): string {
  return posix.normalize(`/${path}`).slice(1).replace(/\/$/, "");
}

/** `input`, gunzipped when it starts with gzip's magic bytes. */
export async function decompressed(input: NodeJS.ReadableStream): Promise<Readable> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  const rest = Readable.from(
    (async function* () {
      if (!first.done) yield first.value;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
    { objectMode: false },
  );
  if (first.done || first.value[0] !== 0x1f || first.value[1] !== 0x8b) return rest;
  const gunzip = createGunzip();
  pipeline(rest, gunzip, () => {}); // an error on either side reaches the reader through gunzip
  return gunzip;
}

async function readDocument(stream: AsyncIterable<Uint8Array>, size: number, what: string): Promise<Buffer> {
  if (size > MAX_DOCUMENT) {
    throw new KilnError(`${what}: ${size} bytes is too big for image metadata`, {
      hint: "this is not an OCI layout or docker-archive kiln can read",
    });
  }
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Read an uncompressed or gzip'd archive once, storing its blobs in the cache. */
export async function readArchive(
  cache: OciCache,
  input: NodeJS.ReadableStream,
  what: string,
): Promise<ArchiveContents> {
  const contents: ArchiveContents = {
    what,
    documents: new Map(),
    blobs: new Map(),
    links: new Map(),
    stored: 0,
  };
  try {
    for await (const item of readTar(await decompressed(input))) {
      const path = clean(item.header.name);
      const type = item.header.type;
      if (type === "symlink" || type === "link") {
        const target = item.header.linkname ?? "";
        contents.links.set(
          path,
          clean(type === "symlink" ? posix.join(posix.dirname(path), target) : target),
        );
      }
      if (type !== "file" && type !== "contiguous-file") {
        await drain(item);
        continue;
      }
      const size = item.header.size ?? 0;
      const body = item.stream as unknown as AsyncIterable<Uint8Array>;
      const blob = BLOB.exec(path);
      if (blob) {
        if (blob[1] !== "sha256" || blob[2]!.length !== 64) {
          throw new KilnError(`${what}: ${path}: kiln stores sha256 blobs only`, {
            hint: "re-create the archive with sha256 digests (the default of every current tool)",
          });
        }
        const digest = `sha256:${blob[2]}`;
        if (!(await cache.hasBlob(digest, size))) contents.stored++;
        await cache.writeBlob({ digest, size }, body, `${what}: ${path}`);
        contents.blobs.set(path, { digest, size });
      } else if (DOCUMENT.test(path)) {
        contents.documents.set(path, await readDocument(body, size, `${what}: ${path}`));
      } else if (IGNORED.test(path)) {
        await drain(item);
      } else {
        const { isNew, ...stored } = await storeHashed(cache, body);
        contents.blobs.set(path, stored);
        if (isNew) contents.stored++;
      }
    }
  } catch (e) {
    if (e instanceof KilnError) throw e;
    throw new KilnError(`${what}: cannot read it as a tar archive: ${(e as Error).message}`, {
      hint: "give an OCI image layout (a directory or .tar) or a `docker save` archive",
      cause: e,
    });
  }
  return contents;
}

function follow(contents: ArchiveContents, path: string): string {
  let p = clean(path);
  for (let hops = 0; contents.links.has(p) && hops < 16; hops++) p = contents.links.get(p)!;
  return p;
}

/** The blob an archive path names, following links. */
export function archiveBlob(contents: ArchiveContents, path: string): StoredBlob | undefined {
  return contents.blobs.get(follow(contents, path));
}

/** The metadata file an archive path names, following links. */
export function archiveDocument(contents: ArchiveContents, path: string): Buffer | undefined {
  return contents.documents.get(follow(contents, path));
}
