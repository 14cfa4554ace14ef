import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { KilnError } from "@kiln/spec";
import { type Descriptor, type ImageIndex, REF_NAME } from "../oci/types.js";
import { commitTemp, writeFileAtomic, writeTemp } from "./atomic.js";
import { assertDigest, DigestMismatchError, sha256 } from "./digest.js";
import { withLock } from "./lock.js";

/** `$KILN_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/kiln`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_CACHE) return env.KILN_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "kiln");
}

/**
 * kiln's image cache: an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`),
 * readable by skopeo, umoci and LinuxKit. Blobs are verified as they stream in and land by rename,
 * so a blob in the cache always matches its name. index.json changes under a cross-process lock.
 */
export class OciCache {
  constructor(readonly dir: string) {}

  static async open(dir: string): Promise<OciCache> {
    const cache = new OciCache(dir);
    await cache.init();
    return cache;
  }

  private get blobsDir(): string {
    return join(this.dir, "blobs", "sha256");
  }

  private get indexPath(): string {
    return join(this.dir, "index.json");
  }

  async init(): Promise<void> {
    try {
      await mkdir(this.blobsDir, { recursive: true });
    } catch (e) {
      throw new KilnError(`cannot create the image cache at ${this.dir}: ${(e as Error).message}`, {
        hint: "set KILN_CACHE or --cache to a writable directory",
      });
    }
    await this.createIfMissing(join(this.dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    await this.createIfMissing(this.indexPath, '{"schemaVersion":2,"manifests":[]}');
  }

  private async createIfMissing(path: string, content: string): Promise<void> {
    try {
      await stat(path);
    } catch {
      await withLock(this.dir, async () => {
        try {
          await stat(path);
        } catch {
          await writeFileAtomic(path, content);
        }
      });
    }
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, assertDigest(digest));
  }

  async hasBlob(digest: string, size?: number): Promise<boolean> {
    try {
      const s = await stat(this.blobPath(digest));
      return size === undefined || s.size === size;
    } catch {
      return false;
    }
  }

  /**
   * Stream a blob in, hashing as it goes. It lands at its final name only when its size and digest
   * match `expected`; otherwise the temp file is removed and a DigestMismatchError is thrown.
   */
  async writeBlob(
    expected: Pick<Descriptor, "digest" | "size">,
    body: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    what = expected.digest,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const target = this.blobPath(expected.digest);
    if (await this.hasBlob(expected.digest, expected.size)) {
      // Drain what we were given, so callers' streams (and their sockets) finish cleanly.
      for await (const _ of body) {
        // discard
      }
      return;
    }
    const hash = createHash("sha256");
    let size = 0;
    const tmp = await writeTemp(target, async (fh) => {
      for await (const chunk of body) {
        const buf = chunk as Uint8Array;
        hash.update(buf);
        size += buf.length;
        if (size > expected.size)
          throw new KilnError(`${what}: more bytes than its descriptor's size ${expected.size}`);
        await fh.write(buf);
        onBytes?.(buf.length);
      }
    });
    const actual = `sha256:${hash.digest("hex")}`;
    if (size !== expected.size || actual !== expected.digest) {
      await rm(tmp, { force: true });
      if (size !== expected.size) {
        throw new KilnError(`${what}: got ${size} bytes, its descriptor says ${expected.size}`, {
          hint: "the transfer was cut short or the source is wrong; nothing was stored. Try again",
        });
      }
      throw new DigestMismatchError(expected.digest, actual, what);
    }
    await commitTemp(tmp, target);
  }

  /** Store a small document (manifest, index, config) and return its descriptor. */
  async putBytes(bytes: Uint8Array, mediaType: string): Promise<Descriptor> {
    const descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
    await this.writeBlob(descriptor, [bytes]);
    return descriptor;
  }

  /** Read a whole small blob, checking it again: a cache on disk can be damaged after the fact. */
  async readBlob(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch {
      throw new KilnError(`blob ${digest} is not in the cache at ${this.dir}`, {
        hint: "pull the image again",
      });
    }
    const actual = sha256(bytes);
    if (actual !== digest) throw new DigestMismatchError(digest, actual, `cached blob ${digest}`);
    return bytes;
  }

  async readJson<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }

  openBlob(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }

  async readIndex(): Promise<ImageIndex> {
    return JSON.parse(await readFile(this.indexPath, "utf8")) as ImageIndex;
  }

  /** Point `name` at `descriptor`, replacing what it named before. */
  async tag(name: string, descriptor: Descriptor): Promise<void> {
    await withLock(this.dir, async () => {
      const index = await this.readIndex();
      const manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== name);
      const { annotations, ...rest } = descriptor;
      manifests.push({ ...rest, annotations: { ...annotations, [REF_NAME]: name } });
      manifests.sort((a, b) =>
        (a.annotations?.[REF_NAME] ?? "").localeCompare(b.annotations?.[REF_NAME] ?? ""),
      );
      await writeFileAtomic(this.indexPath, `${JSON.stringify({ ...index, manifests }, null, 2)}\n`);
    });
  }

  async resolve(name: string): Promise<Descriptor | undefined> {
    const index = await this.readIndex();
    return index.manifests.find((d) => d.annotations?.[REF_NAME] === name);
  }

  async list(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    const index = await this.readIndex();
    return index.manifests.map((d) => ({ name: d.annotations?.[REF_NAME] ?? "", descriptor: d }));
  }

  async untag(name: string): Promise<boolean> {
    return withLock(this.dir, async () => {
      const index = await this.readIndex();
      const manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== name);
      if (manifests.length === index.manifests.length) return false;
      await writeFileAtomic(this.indexPath, `${JSON.stringify({ ...index, manifests }, null, 2)}\n`);
      return true;
    });
  }

  /** Every blob file, for garbage collection and checks. */
  async blobDigests(): Promise<string[]> {
    const names = await readdir(this.blobsDir);
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}
