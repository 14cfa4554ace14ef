import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { makeLayout } from "../testing/image-fixture.js";
import { pushWithSkopeo, startRegistry, type TestRegistry } from "../testing/registry.js";

const WORKER = fileURLToPath(new URL("../testing/pull-worker.mjs", import.meta.url));
let registry: TestRegistry;

beforeAll(async () => {
  registry = await startRegistry();
  for (const name of ["one", "two"]) {
    const layers = Array.from({ length: 4 }, (_, i) => [
      { name: `${name}-${i}`, content: Buffer.alloc(256 * 1024 + i, name.charCodeAt(0) + i) },
    ]);
    const layout = await makeLayout("v1", [{ layers }]);
    await pushWithSkopeo(layout.dir, "v1", registry, `kiln/${name}`);
  }
});
afterAll(async () => registry?.stop());

test("4 processes pulling the same and different images into one cache leave it consistent", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kiln-concurrent-"));
  const one = `${registry.host}/kiln/one:v1`;
  const two = `${registry.host}/kiln/two:v1`;
  const runs = await Promise.all([
    execa(process.execPath, [WORKER, dir, one]),
    execa(process.execPath, [WORKER, dir, one, two]),
    execa(process.execPath, [WORKER, dir, two, one]),
    execa(process.execPath, [WORKER, dir, two]),
  ]);
  const digests = new Map<string, Set<string>>();
  for (const r of runs) {
    for (const { name, digest } of JSON.parse(r.stdout) as Array<{ name: string; digest: string }>) {
      digests.set(name, (digests.get(name) ?? new Set()).add(digest));
    }
  }
  expect([...digests.keys()].sort()).toEqual([one, two]);
  for (const set of digests.values()) expect(set.size).toBe(1);

  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
  const names = index.manifests.map(
    (m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"],
  );
  expect(names.sort()).toEqual([one, two]);

  const files = await readdir(join(dir, "blobs", "sha256"));
  expect(files.filter((f) => !/^[a-f0-9]{64}$/.test(f))).toEqual([]);
  for (const f of files) {
    const hash = createHash("sha256")
      .update(await readFile(join(dir, "blobs", "sha256", f)))
      .digest("hex");
    expect(hash, f).toBe(f);
  }
  // 2 manifests + 2 configs + 8 layers, each stored once.
  expect(files).toHaveLength(12);
  for (const ref of [one, two]) await execa("skopeo", ["inspect", `oci:${dir}:${ref}`]);
});
