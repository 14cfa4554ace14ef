import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KilnError, SpecError } from "@kiln/spec";
import { afterAll, describe, expect, test } from "vitest";
import { loadRecipe } from "./recipe.js";

/** Every temp directory of this file, removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), "kiln-pkg-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function recipeDir(yaml: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(scratch, "kiln-recipe-"));
  await writeFile(join(dir, "build.yml"), yaml);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

/** The problems a recipe has, as the CLI prints them, with the temp directory shortened to DIR. */
async function problems(yaml: string, files: Record<string, string> = {}): Promise<string[]> {
  const dir = await recipeDir(yaml, files);
  try {
    await loadRecipe(dir);
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    return e.message.split("\n").map((l) => l.replaceAll(dir, "DIR"));
  }
  throw new Error("the recipe was accepted");
}

describe("loadRecipe", () => {
  test("a complete recipe is read into its parts", async () => {
    const dir = await recipeDir(
      [
        "name: runc",
        "debian:",
        "  packages: [runc]",
        "  exclude: [/usr/share/bash-completion]",
        "go:",
        "  - module: github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c",
        "    dest: /usr/bin/minio",
        "  - path: mod",
        "    package: cmd/init",
        "    dest: /sbin/init",
        "files:",
        "  - {src: rootfs/, dst: /}",
        '  - {dst: /etc/motd, contents: "hi\\n", mode: "0600"}',
        "  - {dst: /var/lib/x, directory: true}",
        "  - {dst: /bin/sh, symlink: busybox}",
        "  - {dst: /etc/ssl/certs/ca-certificates.crt, concat: {dir: /usr/share/ca-certificates, suffix: .crt}}",
        'entrypoint: ["/usr/bin/runc"]',
        'env: ["PATH=/bin"]',
        "workdir: /",
        "config:",
        "  binds: [/dev:/dev]",
        "  capabilities: [CAP_SYS_ADMIN]",
      ].join("\n"),
      { "rootfs/etc/x": "x", "mod/go.mod": "module example.com/m\n" },
    );
    const r = await loadRecipe(dir);
    expect(r.name).toBe("runc");
    expect(r.debian).toEqual({ packages: ["runc"], exclude: ["usr/share/bash-completion"] });
    expect(r.go).toMatchObject([
      {
        kind: "remote",
        module: "github.com/minio/minio",
        version: "v0.0.0-20260212201848-7aac2a2c5b7c",
        dest: "usr/bin/minio",
      },
      { kind: "local", dir: join(dir, "mod"), package: "cmd/init", dest: "sbin/init" },
    ]);
    expect(r.files.map((f) => [f.kind, f.dst])).toEqual([
      ["copy", ""],
      ["contents", "etc/motd"],
      ["directory", "var/lib/x"],
      ["symlink", "bin/sh"],
      ["concat", "etc/ssl/certs/ca-certificates.crt"],
    ]);
    expect(r.files[1]).toMatchObject({ mode: 0o600 });
    expect(r.image).toEqual({
      entrypoint: ["/usr/bin/runc"],
      env: ["PATH=/bin"],
      workdir: "/",
      config: { binds: ["/dev:/dev"], capabilities: ["CAP_SYS_ADMIN"] },
    });
  });

  test("unknown fields are located and get a did-you-mean hint", async () => {
    expect(await problems("name: x\nimage: y\n")).toEqual([
      "DIR/build.yml:2:1: image: unknown field (allowed here: name, debian, kernel, go, files, entrypoint, cmd, env, workdir, config)",
    ]);
    expect(await problems("name: x\ndebian:\n  pakages: [runc]\n")).toContain(
      "DIR/build.yml:3:3: debian.pakages: unknown field (did you mean `packages`?)",
    );
    expect(await problems("nmae: x\n")).toContain(
      "DIR/build.yml:1:1: nmae: unknown field (did you mean `name`?)",
    );
  });

  test("every problem is reported at once, in file order, as FILE:LINE:COL: field: message (hint)", async () => {
    const lines = await problems(
      [
        "name: Runc",
        "go:",
        "  - module: github.com/minio/minio@latest",
        "    dest: /usr/bin/minio",
        "  - module: github.com/x/y",
        "    path: ../y",
        "    dest: /y",
        "files:",
        "  - dst: /etc/motd",
        "    contents: hi",
        "    symlink: x",
        "  - {dst: /etc/x, contents: x, mode: 644}",
        "  - {dst: /etc/y, src: missing.txt}",
        "  - {dst: ../../etc, directory: true}",
        "config:",
        "  capabilities: [CAP_SYS_ADMN]",
      ].join("\n"),
    );
    expect(lines).toEqual([
      'DIR/build.yml:1:7: name: "Runc" is not a valid image name (use a-z, 0-9 and -, e.g. runc)',
      'DIR/build.yml:3:13: go.0.module: "latest" is not a fixed version (pin it, e.g. module@v1.2.3 or a pseudo-version (`go list -m -json MODULE@COMMIT` prints one))',
      "DIR/build.yml:5:5: go.1: give exactly one of `module` (remote) or `path` (local)",
      "DIR/build.yml:11:14: files.0.symlink: only one of contents, symlink may be given",
      'DIR/build.yml:12:38: files.1.mode: expected string, received number (quote octal modes, e.g. mode: "0644")',
      "DIR/build.yml:13:24: files.2.src: DIR/missing.txt does not exist (paths are relative to the recipe directory)",
      'DIR/build.yml:14:11: files.3.dst: "../../etc" climbs out of the image root (use a path such as /usr/bin/x)',
      'DIR/build.yml:16:18: config.capabilities.0: unknown capability "CAP_SYS_ADMN" (use a name like CAP_NET_ADMIN, or all/none)',
    ]);
  });

  test("a remote Go module must name a fixed version", async () => {
    expect(await problems("name: x\ngo:\n  - {module: github.com/x/y, dest: /y}\n")).toEqual([
      "DIR/build.yml:3:14: go.0.module: a remote module needs a fixed version (pin it, e.g. module@v1.2.3 or a pseudo-version (`go list -m -json MODULE@COMMIT` prints one))",
    ]);
    expect(await problems("name: x\ngo:\n  - {module: github.com/x/y@main, dest: /y}\n")).toEqual([
      expect.stringContaining('go.0.module: "main" is not a fixed version'),
    ]);
  });

  test("a local Go module must have a go.mod", async () => {
    expect(await problems("name: x\ngo:\n  - {path: ., dest: /y}\n")).toEqual([
      "DIR/build.yml:3:12: go.0.path: DIR is not a Go module (no go.mod) (point it at a module directory)",
    ]);
  });

  test("missing name, bad YAML and a non-mapping are reported with a location", async () => {
    expect(await problems("debian: {packages: [runc]}\n")).toEqual([
      "DIR/build.yml:1:1: name: missing required field (expected string)",
    ]);
    expect(await problems("name: [x\n")).toEqual([
      expect.stringMatching(/^DIR\/build\.yml:\d+:\d+: .*\(fix the YAML syntax\)$/),
    ]);
    expect(await problems("- a\n")).toEqual([
      "DIR/build.yml:1:1: a recipe must be a mapping with at least `name:` (see docs/packages.md)",
    ]);
  });

  test("Debian package names and kernel modules are checked", async () => {
    expect(
      await problems(
        "name: x\ndebian:\n  packages: [Runc, ok, 'a b']\nkernel:\n  package: linux-image-amd64\n  modules: [virtio_blk, 'ext 4']\n",
      ),
    ).toEqual([
      'DIR/build.yml:3:14: debian.packages.0: "Runc" is not a Debian package name (e.g. runc or runc=1.1.5+ds1-1)',
      'DIR/build.yml:3:24: debian.packages.2: "a b" is not a Debian package name (e.g. runc or runc=1.1.5+ds1-1)',
      'DIR/build.yml:6:25: kernel.modules.1: "ext 4" is not a module name (e.g. virtio_blk)',
    ]);
  });

  test("a directory without build.yml is a KilnError with a hint", async () => {
    const dir = await mkdtemp(join(scratch, "kiln-recipe-"));
    const err = await loadRecipe(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toBe(
      `${join(dir, "build.yml")}: cannot read the package recipe (ENOENT)`,
    );
    expect((err as KilnError).hint).toContain("docs/packages.md");
  });
});
