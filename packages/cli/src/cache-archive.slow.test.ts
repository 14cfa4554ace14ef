import { cp, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeLayout } from "@kiln/builder/testing";
import { execa } from "execa";
import { beforeAll, describe, expect, test } from "vitest";
import { kiln } from "./test-helpers.js";

const BIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const tmp = (prefix: string) => mkdtemp(join(tmpdir(), `kiln-cli-archive-${prefix}-`));
const ok = (r: ReturnType<typeof kiln>) => {
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  return r;
};
const NAME = "docker.io/kiln/app:v1";

describe("kiln cache import and export, read back by skopeo, umoci and tar", () => {
  let layout: string;
  let dockerArchive: string;
  let cache: string;
  let work: string;

  beforeAll(async () => {
    layout = (
      await makeLayout("v1", [
        {
          layers: [
            [
              { name: "etc/", type: "directory" },
              { name: "etc/motd", content: "hello\n" },
              { name: "etc/issue", type: "symlink", linkname: "motd" },
            ],
            [{ name: "bin/app", content: "#!/bin/sh\necho app\n", mode: 0o755 }],
          ],
          config: { Entrypoint: ["/bin/app"] },
        },
      ])
    ).dir;
    work = await tmp("work");
    dockerArchive = join(work, "app-docker.tar");
    await execa("skopeo", [
      "copy",
      "--quiet",
      `oci:${layout}:v1`,
      `docker-archive:${dockerArchive}:kiln/app:v1`,
    ]);
    cache = await tmp("cache");
    const r = ok(kiln(["cache", "import", "--cache", cache, dockerArchive]));
    expect(r.stdout).toMatch(new RegExp(`^${NAME}\\tsha256:[0-9a-f]{64}\\n$`));
  });

  test("import names images as their archive does: full names normalised, bare tags after the file", async () => {
    expect(ok(kiln(["cache", "ls", "--cache", cache])).stdout).toContain(`${NAME}\t`);
    const c = await tmp("cache-b");
    expect(ok(kiln(["cache", "import", "--cache", c, layout])).stdout).toMatch(
      new RegExp(`^oci-layout:${layout}:v1\\tsha256:`),
    );
    const tar = join(work, "layout.tar");
    await execa("tar", ["-C", layout, "-cf", tar, "."]);
    expect(ok(kiln(["cache", "import", "--cache", c, tar])).stdout).toMatch(
      new RegExp(`^oci-layout:${tar}:v1\\t`),
    );
    // Standard input: a docker-archive carries full names, so it can be named.
    const stdin = ok(kiln(["cache", "import", "--cache", c, "-"], { input: await readFile(dockerArchive) }));
    expect(stdin.stdout).toMatch(new RegExp(`^${NAME}\\t`));
    const listed = ok(kiln(["cache", "ls", "--cache", c])).stdout;
    expect(listed).toContain(`oci-layout:${layout}:v1\t`);
    expect(listed).toContain(`oci-layout:${tar}:v1\t`);
    // Those names are what rm takes, as written or relative to the working directory.
    expect(ok(kiln(["cache", "rm", "--cache", c, `oci-layout:${tar}:v1`])).stdout).toBe(
      `removed oci-layout:${tar}:v1\n`,
    );
    const relative = ok(
      kiln(["cache", "rm", "--cache", c, `oci-layout:${basename(layout)}:v1`], { cwd: dirname(layout) }),
    );
    expect(relative.stdout).toBe(`removed oci-layout:${layout}:v1\n`);
  });

  test("import refuses what is not an image archive, and corrupt blobs", async () => {
    const junk = join(work, "junk.tar");
    await execa("tar", ["-C", "/etc", "-cf", junk, "hostname"]);
    const r = kiln(["cache", "import", "--cache", cache, junk]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`kiln: error: ${junk} is neither an OCI image layout nor a docker-archive`);
    const missing = kiln(["cache", "import", "--cache", cache, join(work, "nope.tar")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("does not exist");
    const corrupt = join(work, "corrupt-layout");
    await cp(layout, corrupt, { recursive: true });
    const index = JSON.parse(await readFile(join(corrupt, "index.json"), "utf8")) as {
      manifests: [{ digest: string }];
    };
    const manifestFile = join(corrupt, "blobs", "sha256", index.manifests[0].digest.slice(7));
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as { layers: [{ digest: string }] };
    const layerFile = join(corrupt, "blobs", "sha256", manifest.layers[0].digest.slice(7));
    const bytes = await readFile(layerFile);
    bytes[10]! ^= 0xff;
    await writeFile(layerFile, bytes);
    const refused = kiln(["cache", "import", "--cache", await tmp("cache-corrupt"), corrupt]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `kiln: error: ${layerFile} (blob ${manifest.layers[0].digest}): content does not match its digest`,
    );
  });

  test("export --format oci -o FILE.tar: skopeo and umoci read it, and it imports back as the same image", async () => {
    const out = join(work, "app-oci.tar");
    const r = ok(
      kiln(["cache", "export", "--cache", cache, NAME, "--format", "oci", "--tag", "app", "-o", out]),
    );
    expect(r.stderr).toContain(`wrote ${NAME} (oci) to ${out}`);
    const inspect = JSON.parse((await execa("skopeo", ["inspect", `oci-archive:${out}:app`])).stdout) as {
      Layers: string[];
    };
    expect(inspect.Layers).toHaveLength(2);
    const dir = join(work, "oci-x");
    await mkdir(dir);
    await execa("tar", ["-C", dir, "-xf", out]);
    const bundle = join(work, "bundle");
    await execa("umoci", ["unpack", "--rootless", "--image", `${dir}:app`, bundle]);
    expect(await readFile(join(bundle, "rootfs", "etc", "motd"), "utf8")).toBe("hello\n");

    const back = await tmp("cache-back");
    const imported = ok(kiln(["cache", "import", "--cache", back, out]));
    const original = ok(kiln(["cache", "ls", "--cache", cache])).stdout.match(/\tsha256:[0-9a-f]{64}/)![0];
    expect(imported.stdout).toBe(`oci-layout:${out}:app${original}\n`);
    // Exports are reproducible: the same image gives the same bytes.
    const again = join(work, "app-oci-2.tar");
    ok(kiln(["cache", "export", "--cache", cache, NAME, "--tag", "app", "-o", again]));
    expect((await readFile(again)).equals(await readFile(out))).toBe(true);
  });

  test("export --format oci -o DIR writes a layout directory, added to if it is one", async () => {
    const dir = join(work, "oci-dir");
    ok(kiln(["cache", "export", "--cache", cache, NAME, "--tag", "one", "-o", dir]));
    ok(kiln(["cache", "export", "--cache", cache, NAME, "--tag", "two", "-o", dir]));
    for (const tag of ["one", "two"]) await execa("skopeo", ["inspect", `oci:${dir}:${tag}`]);
    const notLayout = join(work, "not-a-layout");
    await mkdir(notLayout);
    await execa("touch", [join(notLayout, "precious")]);
    const r = kiln(["cache", "export", "--cache", cache, NAME, "-o", notLayout]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("exists and is not an OCI image layout");
  });

  test("export --format docker: a docker-archive skopeo reads, tagged with the image's name", async () => {
    const out = join(work, "app-docker-out.tar");
    ok(kiln(["cache", "export", "--cache", cache, "kiln/app:v1", "--format", "docker", "-o", out]));
    const inspect = JSON.parse((await execa("skopeo", ["inspect", `docker-archive:${out}`])).stdout) as {
      Layers: string[];
      Architecture: string;
    };
    expect(inspect.Layers).toHaveLength(2);
    expect(inspect.Architecture).toBe("amd64");
    const manifest = JSON.parse((await execa("tar", ["-xOf", out, "manifest.json"])).stdout) as [
      { RepoTags: string[] },
    ];
    expect(manifest[0].RepoTags).toEqual([NAME]);
    const back = await tmp("cache-docker-back");
    expect(ok(kiln(["cache", "import", "--cache", back, out])).stdout).toMatch(new RegExp(`^${NAME}\\t`));
  });

  test("export --format filesystem: the flattened tree, to a file or standard output, the same bytes each time", async () => {
    const out = join(work, "rootfs.tar");
    ok(kiln(["cache", "export", "--cache", cache, NAME, "--format", "filesystem", "-o", out]));
    const listing = (await execa("tar", ["-tvf", out])).stdout;
    expect(listing).toMatch(/^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 etc\/$/m);
    expect(listing).toMatch(/^lrw-r--r-- 0\/0 +0 1970-01-01 00:00 etc\/issue -> motd$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 +19 1970-01-01 00:00 bin\/app$/m);
    expect((await execa("tar", ["-xOf", out, "etc/motd"])).stdout).toBe("hello");
    const piped = await execa("sh", [
      "-c",
      `node ${BIN} cache export --cache ${cache} ${NAME} --format filesystem -o - | cmp - ${out} && echo same`,
    ]);
    expect(piped.stdout).toBe("same");
  });

  test("export: usage errors and images not in the cache", () => {
    const noOut = kiln(["cache", "export", "--cache", cache, NAME]);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("needs -o FILE");
    const missing = kiln(["cache", "export", "--cache", cache, "alpine:3.20", "-o", join(work, "x.tar")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("docker.io/library/alpine:3.20 is not in the cache");
    const badFormat = kiln(["cache", "export", "--cache", cache, NAME, "--format", "qcow2", "-o", "x"]);
    expect(badFormat.code).toBe(2);
  });
});
