import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { OciCache } from "../cache/cache.js";
import { buildPackage, packageTag } from "./build.js";

const RECIPE = [
  "name: files-only",
  "files:",
  "  - {src: rootfs/, dst: /}",
  '  - {dst: /etc/motd, contents: "hello\\n"}',
  "  - {dst: /bin/sh, symlink: busybox}",
  "  - {dst: /var/lib/x, directory: true}",
  'entrypoint: ["/bin/sh"]',
  "",
].join("\n");

async function recipe(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-tag-"));
  await mkdir(join(dir, "rootfs", "usr", "bin"), { recursive: true });
  await writeFile(join(dir, "build.yml"), RECIPE);
  await writeFile(join(dir, "rootfs", "usr", "bin", "tool"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  await writeFile(join(dir, "rootfs", "greeting"), "hi\n");
  return dir;
}

let cache: OciCache;
beforeEach(async () => {
  cache = await OciCache.open(await mkdtemp(join(tmpdir(), "kiln-tag-cache-")));
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("packageTag", () => {
  test("is kiln.local/pkg/NAME:16 hex digits, the same for the same inputs, and ignores the directory's place", async () => {
    const a = await recipe();
    const b = await recipe();
    const tag = await packageTag(a, { cache, arch: "amd64" });
    expect(tag).toMatch(/^kiln\.local\/pkg\/files-only:[0-9a-f]{16}$/);
    expect(await packageTag(a, { cache, arch: "amd64" })).toBe(tag);
    expect(await packageTag(b, { cache, arch: "amd64" })).toBe(tag);
  });

  test("changes with any input: a file's bytes, its executable bit, the recipe, the arch, SOURCE_DATE_EPOCH", async () => {
    const dir = await recipe();
    const tags = new Set<string>();
    const add = async () => {
      const t = await packageTag(dir, { cache, arch: "amd64" });
      expect(tags.has(t)).toBe(false);
      tags.add(t);
    };
    await add();
    await writeFile(join(dir, "rootfs", "greeting"), "hello\n");
    await add();
    await chmod(join(dir, "rootfs", "greeting"), 0o755);
    await add();
    await writeFile(join(dir, "rootfs", "new-file"), "");
    await add();
    await writeFile(join(dir, "build.yml"), `${RECIPE}# a comment\n`);
    await add();
    expect(await packageTag(dir, { cache, arch: "arm64" })).not.toBe(await packageTag(dir, { cache, arch: "amd64" }));
    vi.stubEnv("SOURCE_DATE_EPOCH", "1700000000");
    await add();
  });
});

describe("buildPackage, files only", () => {
  test("builds once, then finds the image in the cache; another cache gets the same manifest digest", async () => {
    const dir = await recipe();
    const first = await buildPackage(dir, { cache, arch: "amd64" });
    expect(first.built).toBe(true);
    expect(first.name).toBe(await packageTag(dir, { cache, arch: "amd64" }));
    expect(first.config.config).toEqual({ Entrypoint: ["/bin/sh"] });
    expect(first.config).not.toHaveProperty("created");

    const again = await buildPackage(dir, { cache, arch: "amd64" });
    expect(again.built).toBe(false);
    expect(again.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);

    const other = await OciCache.open(await mkdtemp(join(tmpdir(), "kiln-tag-cache-")));
    const elsewhere = await buildPackage(dir, { cache: other, arch: "amd64" });
    expect(elsewhere.built).toBe(true);
    expect(elsewhere.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);

    const forced = await buildPackage(dir, { cache, arch: "amd64", force: true });
    expect(forced.built).toBe(true);
    expect(forced.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);
  });
});
