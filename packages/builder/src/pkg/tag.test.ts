import { mkdtempSync, rmSync } from "node:fs";
import { chmod, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "@kiln/spec";
import { execa } from "execa";
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { OciCache } from "../cache/cache.js";
import { RegistryClient } from "../registry/client.js";
import { ImageResolver } from "../resolve/resolver.js";
import { buildPackage, packageTag } from "./build.js";

/** Every temp directory of this file, removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), "kiln-pkg-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

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
  const dir = await mkdtemp(join(scratch, "kiln-tag-"));
  await mkdir(join(dir, "rootfs", "usr", "bin"), { recursive: true });
  await writeFile(join(dir, "build.yml"), RECIPE);
  await writeFile(join(dir, "rootfs", "usr", "bin", "tool"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  await writeFile(join(dir, "rootfs", "greeting"), "hi\n");
  return dir;
}

/** A check to call after each change to the recipe in `dir`: its tag must differ from every earlier one. */
function newTagEach(dir: string): () => Promise<void> {
  const tags = new Set<string>();
  return async () => {
    const t = await packageTag(dir, { cache, arch: "amd64" });
    expect(tags.has(t)).toBe(false);
    tags.add(t);
  };
}

let cache: OciCache;
beforeEach(async () => {
  cache = await OciCache.open(await mkdtemp(join(scratch, "kiln-tag-cache-")));
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
    const add = newTagEach(dir);
    await add();
    await writeFile(join(dir, "rootfs", "greeting"), "hello\n");
    await add();
    await chmod(join(dir, "rootfs", "greeting"), 0o755);
    await add();
    await writeFile(join(dir, "rootfs", "new-file"), "");
    await add();
    await writeFile(join(dir, "build.yml"), `${RECIPE}# a comment\n`);
    await add();
    expect(await packageTag(dir, { cache, arch: "arm64" })).not.toBe(
      await packageTag(dir, { cache, arch: "amd64" }),
    );
    vi.stubEnv("SOURCE_DATE_EPOCH", "1700000000");
    await add();
  });
});

describe("packageTag of a local Go module", () => {
  test("reads through a symlinked module directory, and into every directory go.mod replaces a module with", async () => {
    const dir = await mkdtemp(join(scratch, "kiln-tag-go-"));
    const real = join(dir, "elsewhere", "mod");
    await mkdir(real, { recursive: true });
    for (const d of ["dep", "quoted", "block"]) {
      await mkdir(join(dir, "elsewhere", d));
      await writeFile(join(dir, "elsewhere", d, "go.mod"), `module example.com/${d}\n`);
    }
    await writeFile(
      join(real, "go.mod"),
      [
        "module example.com/mod",
        "",
        "go 1.22",
        "",
        "replace example.com/dep => ../dep // a local copy, until upstream merges",
        'replace example.com/quoted v1.0.0 => "../quoted"',
        "replace (",
        "\texample.com/block => ../block",
        "\texample.com/remote => example.com/fork v1.2.3",
        ")",
        "",
      ].join("\n"),
    );
    await writeFile(join(real, "main.go"), "package main\n\nfunc main() {}\n");
    await symlink(real, join(dir, "mod"));
    await writeFile(join(dir, "build.yml"), "name: gomod\ngo:\n  - {path: mod, dest: /bin/mod}\n");
    const add = newTagEach(dir);
    await add();
    await writeFile(join(real, "main.go"), "package main\n\nfunc main() { println() }\n");
    await add();
    for (const d of ["dep", "quoted", "block"]) {
      await writeFile(join(dir, "elsewhere", d, "x.go"), `package ${d}\n`);
      await add();
    }
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

    const other = await OciCache.open(await mkdtemp(join(scratch, "kiln-tag-cache-")));
    const elsewhere = await buildPackage(dir, { cache: other, arch: "amd64" });
    expect(elsewhere.built).toBe(true);
    expect(elsewhere.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);

    const forced = await buildPackage(dir, { cache, arch: "amd64", force: true });
    expect(forced.built).toBe(true);
    expect(forced.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);
  });
});

describe("files entries", () => {
  test("concat joins the image's files in path order; a file copied to dir/ lands inside it", async () => {
    const dir = await mkdtemp(join(scratch, "kiln-files-"));
    await mkdir(join(dir, "certs"), { recursive: true });
    await writeFile(join(dir, "certs", "b.crt"), "B\n");
    await writeFile(join(dir, "certs", "a.crt"), "A-without-newline");
    await writeFile(join(dir, "certs", "c.pem"), "not me\n");
    await writeFile(join(dir, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    await writeFile(
      join(dir, "build.yml"),
      [
        "name: files",
        "files:",
        "  - {src: certs, dst: /usr/share/ca-certificates/x}",
        "  - {dst: /etc/ssl/certs/ca-certificates.crt, concat: {dir: /usr/share/ca-certificates, suffix: .crt}}",
        "  - {dst: /usr/local/bin, directory: true}",
        "  - {src: tool, dst: /usr/local/bin/}",
        "",
      ].join("\n"),
    );
    const image = await buildPackage(dir, { cache, arch: "amd64" });
    const blob = cache.blobPath(image.manifest.layers[0]!.digest);
    const bundle = await execa("tar", ["-xzOf", blob, "etc/ssl/certs/ca-certificates.crt"]);
    expect(bundle.stdout).toBe("A-without-newline\nB");
    const listing = await execa("tar", ["-tvzf", blob]);
    expect(listing.stdout).toMatch(/^-rwxr-xr-x 0\/0 +10 .* usr\/local\/bin\/tool$/m);
  });
});

describe("@pkg: references", () => {
  test("a YAML's @pkg:DIR, relative to the YAML file, resolves through ImageResolver to the built package", async () => {
    const dir = await recipe();
    const yaml = join(dir, "..", "appliance.yml");
    const loaded = loadConfig([
      {
        name: yaml,
        text: `onboot:\n  - name: x\n    image: "@pkg:./${dir.slice(dir.lastIndexOf("/") + 1)}"\n`,
      },
    ]);
    const ref = loaded.config.onboot![0]!.image;
    expect(ref).toBe(`@pkg:${dir}`);
    const lines: string[] = [];
    const resolver = new ImageResolver({
      cache,
      client: new RegistryClient(),
      arch: "amd64",
      log: (l) => lines.push(l),
    });
    const image = await resolver.resolve(ref);
    expect(image.name).toBe(await packageTag(dir, { cache, arch: "amd64" }));
    expect(await cache.resolve(image.name)).toEqual(
      expect.objectContaining({ digest: image.manifestDescriptor.digest }),
    );
    expect(lines).toContain(`files-only: building ${image.name}`);
  });
});
