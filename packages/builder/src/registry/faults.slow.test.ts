import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { type Fault, startFaultProxy } from "../testing/fault-proxy.js";
import { makeLayout } from "../testing/image-fixture.js";
import { pushWithSkopeo, startRegistry, type TestRegistry } from "../testing/registry.js";
import { RegistryClient } from "./client.js";
import { pullImage } from "./pull.js";

/** Every file in the blob store, temp files included: a failed pull must leave none. */
const blobFiles = async (dir: string) => (await readdir(join(dir, "blobs", "sha256"))).sort();

describe("pulling through injected faults", () => {
  let registry: TestRegistry;
  const big = Buffer.alloc(3 * 1024 * 1024, 7); // compressible but several chunks on the wire
  beforeAll(async () => {
    registry = await startRegistry();
    const random = Buffer.from(Array.from({ length: 512 * 1024 }, (_, i) => (i * 2654435761) % 251));
    const layout = await makeLayout("v1", [
      { layers: [[{ name: "big", content: Buffer.concat([random, big]) }]] },
    ]);
    await pushWithSkopeo(layout.dir, "v1", registry, "kiln/faulty");
  });
  afterAll(async () => registry?.stop());

  async function layerDigest(): Promise<string> {
    const cache = await OciCache.open(await mkdtemp(join(tmpdir(), "kiln-faults-")));
    return (await pullImage(new RegistryClient(), cache, `${registry.host}/kiln/faulty:v1`)).manifest
      .layers[0]!.digest;
  }

  async function pullVia(faults: Fault[], client = new RegistryClient({ backoffMs: 5 })) {
    const proxy = await startFaultProxy(registry.host, faults);
    const dir = await mkdtemp(join(tmpdir(), "kiln-faults-"));
    const cache = await OciCache.open(dir);
    try {
      const result = await pullImage(client, cache, `${proxy.host}/kiln/faulty:v1`).then(
        (image) => ({ image, error: undefined }),
        (error: Error) => ({ image: undefined, error }),
      );
      return { ...result, dir, cache, hits: proxy.hits };
    } finally {
      await proxy.stop();
    }
  }

  test("500s and 429s are retried with backoff until the pull succeeds", async () => {
    const r = await pullVia([
      { kind: "status", status: 500, times: 2 },
      { kind: "status", status: 429, times: 1, retryAfter: 0 },
      { kind: "status", status: 503, times: 1 },
    ]);
    expect(r.error).toBeUndefined();
    expect(r.image?.manifest.layers).toHaveLength(1);
  });

  test("a connection dropped mid-blob is retried, and the stored blob is whole", async () => {
    const r = await pullVia([{ kind: "drop", afterBytes: 64 * 1024, times: 1 }]);
    expect(r.error).toBeUndefined();
    const layer = r.image!.manifest.layers[0]!;
    expect(await r.cache.readBlob(layer.digest)).toHaveLength(layer.size);
  });

  test("a blob corrupted on every attempt fails clearly and is never stored", async () => {
    const r = await pullVia([{ kind: "corrupt", times: 100 }]);
    expect(r.error?.message).toMatch(
      /content does not match its digest \(expected sha256:[0-9a-f]{64}, got sha256:/,
    );
    // Only the manifest landed; no corrupt blob, no temp file.
    expect(await blobFiles(r.dir)).toHaveLength(1);
  });

  test("a blob truncated on every attempt fails clearly and leaves nothing behind", async () => {
    const r = await pullVia([{ kind: "truncate", keepBytes: 1000, times: 100 }]);
    expect(r.error?.message).toMatch(/got 1000 bytes, its descriptor says \d+/);
    const files = await blobFiles(r.dir);
    const layer = await layerDigest();
    expect(files.some((f) => f.startsWith(".tmp-"))).toBe(false);
    expect(files).not.toContain(layer.slice("sha256:".length));
  });

  test("a registry that keeps failing gives up with a clear error", async () => {
    const r = await pullVia(
      [{ kind: "status", status: 500, times: 100 }],
      new RegistryClient({ backoffMs: 1, attempts: 3 }),
    );
    expect(r.error?.message).toMatch(/answered HTTP 500 for .*kiln\/faulty:v1/);
  });
});
