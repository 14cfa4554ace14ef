import {
  appendFile,
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "@kiln/spec";
import { beforeAll, describe, expect, test } from "vitest";
import { APP_IMAGE, INIT_IMAGE, putImage } from "../assemble/testdata/images.js";
import { OciCache } from "../cache/cache.js";
import { collectGarbage } from "../cache/gc.js";
import { RegistryClient } from "../registry/client.js";
import { ImageResolver } from "../resolve/resolver.js";
import { makeLayout } from "../testing/image-fixture.js";
import { type BuildOptions, type BuildResult, buildAppliance } from "./build.js";
import { checkQuick, quickCacheDir, quickKey, quickRecordPath } from "./quick-noop.js";

// Real builds of a small appliance (tar: no kernel needed) from every kind of input the quick record
// covers: registry images in the cache, a package recipe, an OCI layout, and `files: source:` files.

let root: string;
let cache: OciCache;
let yamlPath: string;
let pkgDir: string;
let layoutDir: string;
let yamlText = "";
const QK = quickKey({ test: "quick-noop" });
const QK2 = quickKey({ test: "quick-noop elsewhere" });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-quick-"));
  cache = await OciCache.open(join(root, "cache"));
  await putImage(cache, "example.com/kiln/init:1", INIT_IMAGE);
  await putImage(cache, "example.com/kiln/app:1", APP_IMAGE);
  await putImage(cache, "example.com/kiln/other:1", {
    layers: [[{ name: "usr/bin/other", content: "#!/bin/sh\necho other\n", mode: 0o755 }]],
    config: { Entrypoint: ["/usr/bin/other"] },
  });
  // The package directory is linked in from elsewhere, as a shared recipe often is: the tag reads through
  // the link, so the record must watch what it points at.
  pkgDir = join(root, "shared", "pkg");
  await mkdir(join(pkgDir, "rootfs", "etc"), { recursive: true });
  await symlink(pkgDir, join(root, "pkg"));
  await writeFile(
    join(pkgDir, "build.yml"),
    'name: quick-sample\nfiles:\n  - {src: rootfs/, dst: /}\ncmd: ["/bin/sh"]\n',
  );
  await writeFile(join(pkgDir, "rootfs", "etc", "sample.conf"), "sample=1\n");
  layoutDir = (await makeLayout("v1", [{ layers: [[{ name: "etc/layout.txt", content: "layout\n" }]] }])).dir;
  await writeFile(join(root, "app.conf"), "setting=1\n");
  // The optional source is missing, so its directory's state counts: it must not change during the build.
  await mkdir(join(root, "out"));
  yamlPath = join(root, "appliance.yml");
  await writeFile(
    yamlPath,
    [
      "init:",
      "  - example.com/kiln/init:1",
      "onboot:",
      "  - name: first",
      "    image: example.com/kiln/app:1",
      "  - name: sample",
      '    image: "@pkg:./pkg"',
      "  - name: layout",
      `    image: "oci-layout:${layoutDir}:v1"`,
      '    command: ["/bin/true"]',
      "files:",
      "  - path: etc/app.conf",
      "    source: app.conf",
      "  - path: etc/extra.conf",
      "    source: extra.conf",
      "    optional: true",
      "",
    ].join("\n"),
  );
});

function options(extra: Partial<BuildOptions> = {}): BuildOptions {
  return {
    loaded: loadConfig([{ name: yamlPath, text: yamlText }]),
    formats: ["tar"],
    name: "app",
    dir: join(root, "out"),
    arch: "amd64",
    resolver: new ImageResolver({ cache, client: new RegistryClient({}), arch: "amd64" }),
    cache,
    version: "test",
    ...extra,
  };
}

/** A build whose inputs all changed before it started, as a command run a while after editing sees them. */
async function settledBuild(): Promise<BuildResult> {
  yamlText = await readFile(yamlPath, "utf8");
  // ctime has the file system's (coarse) clock: step past the last change before taking the time.
  await sleep(25);
  return buildAppliance(options({ quick: { key: QK, since: Date.now() } }));
}

const quick = () => checkQuick(cache.dir, QK);

describe("the quick no-op record", () => {
  test("answers an unchanged build with its outputs, key and progress lines, reading only stats", async () => {
    const built = await settledBuild();
    const hit = await quick();
    expect(hit).toBeDefined();
    expect(hit!.key).toBe(built.key);
    expect(hit!.outputs).toEqual([join(root, "out", "app.tar")]);
    expect(hit!.log[0]).toBe("resolving 4 images");
    expect(hit!.log[1]).toMatch(/^quick-sample: up to date \(kiln\.local\/pkg\/quick-sample:[0-9a-f]{16}\)$/);
    // The full path agrees: the same key, nothing rebuilt.
    const again = await buildAppliance(options());
    expect(again).toMatchObject({ upToDate: true, key: built.key });
  });

  test("is not written when an input changed after this process started (too recent to trust a stat)", async () => {
    await settledBuild();
    expect(await quick()).toBeDefined();
    await writeFile(join(root, "app.conf"), "setting=2\n");
    yamlText = await readFile(yamlPath, "utf8");
    // The default: inputs must predate the process by a margin. This test process is younger than the file.
    const r = await buildAppliance(options({ quick: { key: QK } }));
    expect(r.upToDate).toBe(false);
    expect(await quick()).toBeUndefined();
    await expect(readFile(quickRecordPath(cache.dir, QK))).rejects.toThrow(/ENOENT/);
  });

  const changes: Array<[string, () => Promise<void>]> = [
    ["a files: source changes", () => writeFile(join(root, "app.conf"), "setting=3\n")],
    ["a files: source is touched (same bytes)", () => utimes(join(root, "app.conf"), new Date(), new Date())],
    ["an optional files: source appears", () => writeFile(join(root, "extra.conf"), "extra\n")],
    ["a package file changes", () => writeFile(join(pkgDir, "rootfs", "etc", "sample.conf"), "sample=2\n")],
    ["a package gains a file", () => writeFile(join(pkgDir, "rootfs", "etc", `new-${Date.now()}`), "")],
    ["a package file becomes executable", () => chmod(join(pkgDir, "rootfs", "etc", "sample.conf"), 0o755)],
    ["the recipe changes", () => appendFile(join(pkgDir, "build.yml"), "# a comment\n")],
    [
      "the cache's tag moves to another image (index.json)",
      async () => {
        const other = await cache.resolve("example.com/kiln/other:1");
        await cache.tag("example.com/kiln/app:1", other!);
      },
    ],
    ["a layout's file changes", () => appendFile(join(layoutDir, "index.json"), "\n")],
    ["the output is modified", () => appendFile(join(root, "out", "app.tar"), "x")],
    ["the output is removed", () => rm(join(root, "out", "app.tar"))],
  ];

  test.each(changes)("sends the next command down the full path when %s", async (_what, change) => {
    await settledBuild();
    expect(await quick()).toBeDefined();
    await change();
    expect(await quick()).toBeUndefined();
  });

  test("a blob the images need going missing sends the command down the full path", async () => {
    await settledBuild();
    const record = JSON.parse(await readFile(quickRecordPath(cache.dir, QK), "utf8")) as {
      deps: Array<{ path: string; blobSize?: number }>;
    };
    const blob = record.deps.find((d) => d.blobSize !== undefined)!;
    const bytes = await readFile(blob.path);
    await rm(blob.path);
    expect(await quick()).toBeUndefined();
    await writeFile(blob.path, bytes);
  });

  test("after a change the full path decides, and records again once it has", async () => {
    await settledBuild();
    await utimes(join(root, "app.conf"), new Date(), new Date());
    expect(await quick()).toBeUndefined();
    const full = await settledBuild();
    expect(full.upToDate).toBe(true);
    expect((await quick())?.key).toBe(full.key);
  });

  test("a record from another cache, or of another format, does not answer", async () => {
    const built = await settledBuild();
    const path = quickRecordPath(cache.dir, QK);
    const record = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    await writeFile(path, JSON.stringify({ ...record, cacheDir: "/elsewhere" }));
    expect(await quick()).toBeUndefined();
    await writeFile(path, JSON.stringify({ ...record, version: 0 }));
    expect(await quick()).toBeUndefined();
    await writeFile(path, "{ not json");
    expect(await quick()).toBeUndefined();
    await writeFile(path, JSON.stringify(record));
    expect((await quick())?.key).toBe(built.key);
  });
});

describe("cache gc and build records", () => {
  test("keeps the records that can still answer and drops those whose outputs are gone", async () => {
    const built = await settledBuild();
    const other = await buildAppliance(options({ dir: join(root, "elsewhere"), quick: { key: QK2 } }));
    const later = Date.now() + 3600_000;
    const records = async () => (await readdir(join(cache.dir, "builds"))).filter((n) => n.endsWith(".json"));
    const quickRecords = () => readdir(join(cache.dir, "builds", "quick"));
    await collectGarbage(cache, later);
    expect(await quick()).toBeDefined();
    expect(await records()).toEqual(expect.arrayContaining([`${built.key}.json`, `${other.key}.json`]));
    await rm(join(root, "elsewhere"), { recursive: true });
    await writeFile(join(cache.dir, "builds", "quick", `${QK2.slice(1)}x.json`), "{ not json");
    const quickDir = join(cache.dir, "builds", "quick");
    await writeFile(join(quickDir, ".tmp-left-by-a-crash"), await readFile(join(quickDir, `${QK}.json`)));
    await collectGarbage(cache, later);
    expect(await records()).not.toContain(`${other.key}.json`);
    expect(await records()).toContain(`${built.key}.json`);
    expect(await quickRecords()).toEqual([`${QK}.json`]);
    expect((await quick())?.key).toBe(built.key);
  });
});

describe("quickCacheDir", () => {
  test("is the cache the CLI uses: --cache, $KILN_CACHE, $XDG_CACHE_HOME/kiln, ~/.cache/kiln, absolute", () => {
    expect(quickCacheDir("rel", { KILN_CACHE: "/k" })).toBe(join(process.cwd(), "rel"));
    expect(quickCacheDir(undefined, { KILN_CACHE: "/k", XDG_CACHE_HOME: "/x" })).toBe("/k");
    expect(quickCacheDir(undefined, { XDG_CACHE_HOME: "/x" })).toBe("/x/kiln");
    expect(quickCacheDir(undefined, {})).toMatch(/^\/.*\/\.cache\/kiln$/);
  });
});
