import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeLayout, pushWithSkopeo, startRegistry, type TestRegistry } from "@kiln/builder/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { kiln } from "./test-helpers.js";

describe("kiln cache, against a real registry", () => {
  let registry: TestRegistry;
  let cache: string;
  beforeAll(async () => {
    registry = await startRegistry();
    cache = await mkdtemp(join(tmpdir(), "kiln-cli-cache-"));
    for (const name of ["web", "db"]) {
      const layout = await makeLayout("1.0", [{ layers: [[{ name: `${name}.txt`, content: `${name}\n` }]] }]);
      await pushWithSkopeo(layout.dir, "1.0", registry, `kiln/${name}`);
    }
  });
  afterAll(async () => registry?.stop());

  test("pull, ls, rm and clean", async () => {
    const web = `${registry.host}/kiln/web:1.0`;
    const db = `${registry.host}/kiln/db:1.0`;
    const pulled = kiln(["cache", "pull", "--cache", cache, web, db]);
    expect(pulled.stderr).toContain(`${web}: 1 layers`);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(
      new RegExp(`^${web}\\tsha256:[0-9a-f]{64}\\n${db}\\tsha256:[0-9a-f]{64}\\n$`),
    );
    // Not a TTY: plain progress lines, one per layer state.
    expect(pulled.stderr).toMatch(/kiln\/web:1\.0:\s+[0-9a-f]{12}\s+/);

    const listed = kiln(["cache", "ls", "--cache", cache]);
    expect(
      listed.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0]),
    ).toEqual([db, web]);

    const removed = kiln(["cache", "rm", "--cache", cache, web]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`removed ${web}\n`);
    expect(kiln(["cache", "ls", "--cache", cache]).stdout).not.toContain(web);

    const gc = kiln(["cache", "gc", "--cache", cache]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stderr).toMatch(/^freed \d+ blobs and cache entries, /);

    const again = kiln(["cache", "rm", "--cache", cache, web]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`kiln: error: ${web} is not in the cache`);

    expect(kiln(["cache", "clean", "--cache", cache]).code).toBe(0);
    expect(JSON.parse(await readFile(join(cache, "index.json"), "utf8")).manifests).toEqual([]);
  });

  test("--mirror serves another registry's images; --quiet prints no progress", () => {
    const r = kiln([
      "cache",
      "pull",
      "-q",
      "--cache",
      cache,
      "--mirror",
      `docker.io=${registry.url}`,
      "docker.io/kiln/db:1.0",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^docker\.io\/kiln\/db:1\.0\tsha256:/);
  });

  test("a bad --mirror is a usage error", () => {
    const r = kiln(["cache", "pull", "--mirror", "nonsense", "alpine"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mirror "nonsense" is not registry=url');
  });
});
