import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, test } from "vitest";
import { MediaType } from "../oci/types.js";
import { defaultCacheDir, OciCache } from "./cache.js";
import { sha256 } from "./digest.js";
import { collectGarbage } from "./gc.js";

const newCache = async () => OciCache.open(await mkdtemp(join(tmpdir(), "kiln-cache-")));

describe("OciCache", () => {
  test("is an OCI image layout", async () => {
    const cache = await newCache();
    expect(JSON.parse(await readFile(join(cache.dir, "oci-layout"), "utf8"))).toEqual({
      imageLayoutVersion: "1.0.0",
    });
    expect(await cache.readIndex()).toEqual({ schemaVersion: 2, manifests: [] });
  });

  test("a blob whose bytes do not match its digest never lands, and leaves no temp file", async () => {
    const cache = await newCache();
    const good = Buffer.from("good bytes");
    const d = { digest: sha256(good), size: good.length };
    await expect(cache.writeBlob(d, Readable.from([Buffer.from("evil bytes")]))).rejects.toThrow(
      "content does not match its digest",
    );
    await expect(cache.writeBlob(d, Readable.from([Buffer.from("short")]))).rejects.toThrow("got 5 bytes");
    await expect(cache.writeBlob(d, Readable.from([good, Buffer.from("more")]))).rejects.toThrow(
      "more bytes than",
    );
    expect(await readdir(join(cache.dir, "blobs", "sha256"))).toEqual([]);
    await cache.writeBlob(d, Readable.from([good]));
    expect(await cache.readBlob(d.digest)).toEqual(good);
  });

  test("a stream that fails midway leaves nothing behind", async () => {
    const cache = await newCache();
    async function* broken() {
      yield Buffer.from("partial");
      throw new Error("socket hang up");
    }
    await expect(cache.writeBlob({ digest: sha256(Buffer.from("x")), size: 100 }, broken())).rejects.toThrow(
      "socket hang up",
    );
    expect(await readdir(join(cache.dir, "blobs", "sha256"))).toEqual([]);
  });

  test("a damaged blob on disk is caught when read", async () => {
    const cache = await newCache();
    const d = await cache.putBytes(Buffer.from("{}"), MediaType.ociConfig);
    const { writeFile } = await import("node:fs/promises");
    await writeFile(cache.blobPath(d.digest), "{ }");
    await expect(cache.readBlob(d.digest)).rejects.toThrow("content does not match its digest");
  });

  test("tags are unique names in index.json, replaced and removed", async () => {
    const cache = await newCache();
    const a = await cache.putBytes(Buffer.from('{"a":1}'), MediaType.ociManifest);
    const b = await cache.putBytes(Buffer.from('{"b":1}'), MediaType.ociManifest);
    await cache.tag("x:1", a);
    await cache.tag("x:1", b);
    await cache.tag("y:1", a);
    expect((await cache.list()).map((e) => [e.name, e.descriptor.digest])).toEqual([
      ["x:1", b.digest],
      ["y:1", a.digest],
    ]);
    expect(await cache.untag("x:1")).toBe(true);
    expect(await cache.untag("x:1")).toBe(false);
    expect((await cache.resolve("y:1"))?.digest).toBe(a.digest);
  });

  test("garbage collection removes unreferenced blobs but spares young ones", async () => {
    const cache = await newCache();
    const layer = await cache.putBytes(Buffer.from("layer"), MediaType.ociLayer);
    const config = await cache.putBytes(Buffer.from("{}"), MediaType.ociConfig);
    const manifest = await cache.putBytes(
      Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [layer] })),
      MediaType.ociManifest,
    );
    const orphan = await cache.putBytes(Buffer.from("orphan"), MediaType.ociLayer);
    await cache.tag("img:1", manifest);
    expect(await collectGarbage(cache)).toEqual({ removed: 0, bytes: 0 });
    const later = Date.now() + 60 * 60_000;
    expect(await collectGarbage(cache, later)).toEqual({ removed: 1, bytes: 6 });
    expect(await cache.hasBlob(orphan.digest)).toBe(false);
    expect(await cache.hasBlob(layer.digest)).toBe(true);
  });

  test("the default location follows KILN_CACHE, then XDG_CACHE_HOME", () => {
    expect(defaultCacheDir({ KILN_CACHE: "/c" })).toBe("/c");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/kiln");
    expect(defaultCacheDir({})).toMatch(/\.cache\/kiln$/);
  });
});
