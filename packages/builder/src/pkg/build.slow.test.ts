// Real package builds: Debian packages through apt, a Go program through the Go toolchain, the result read
// back by umoci and skopeo, pushed to a real registry. The .debs are downloaded once into a download cache
// shared by test runs (KILN_TEST_CACHE).

import { mkdtempSync, rmSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LABEL_KEY } from "@kiln/spec";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { RegistryClient } from "../registry/client.js";
import { pushImage } from "../registry/push.js";
import { startRegistry, type TestRegistry } from "../testing/registry.js";
import { type BuiltPackage, buildPackage } from "./build.js";

/** Every temp directory of this file, removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), "kiln-pkg-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const TEST_CACHE = process.env.KILN_TEST_CACHE ?? "/tmp/kiln-test";
const downloads = join(TEST_CACHE, "downloads");

async function write(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, content, { mode });
}

/** A recipe with every kind of input, next to a tiny local Go module. */
async function makeRecipe(): Promise<string> {
  const root = await mkdtemp(join(scratch, "kiln-pkg-"));
  await write(join(root, "hi", "go.mod"), "module example.com/hi\n\ngo 1.21\n");
  await write(
    join(root, "hi", "main.go"),
    'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi from go") }\n',
  );
  const dir = join(root, "recipe");
  await write(join(dir, "rootfs", "etc", "greeting"), "rootfs file\n");
  await write(join(dir, "rootfs", "usr", "bin", "tool"), "#!/bin/sh\necho tool\n", 0o755);
  await write(
    join(dir, "build.yml"),
    [
      "name: sample",
      "debian:",
      "  packages: [busybox-static, hello]",
      "  exclude: [usr/share/initramfs-tools]",
      "go:",
      "  - path: ../hi",
      "    dest: /usr/bin/hi",
      "files:",
      "  - src: rootfs/",
      "    dst: /",
      "  - dst: /etc/motd",
      '    contents: "hello\\n"',
      '    mode: "0600"',
      "  - dst: /var/lib/x",
      "    directory: true",
      "  - dst: /bin/sh",
      "    symlink: busybox",
      'entrypoint: ["/usr/bin/hi"]',
      'env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]',
      "workdir: /",
      "config:",
      "  binds: [/dev:/dev]",
      "  capabilities: [CAP_SYS_ADMIN]",
      "",
    ].join("\n"),
  );
  return dir;
}

async function unpack(cache: OciCache, name: string): Promise<string> {
  const bundle = join(await mkdtemp(join(scratch, "kiln-pkg-bundle-")), "b");
  await execa("umoci", ["unpack", "--image", `${cache.dir}:${name}`, bundle]);
  return join(bundle, "rootfs");
}

describe("kiln pkg build of a Debian + Go + files recipe", () => {
  let dir: string;
  let cache: OciCache;
  let first: BuiltPackage;
  let registry: TestRegistry;

  beforeAll(async () => {
    dir = await makeRecipe();
    cache = await OciCache.open(await mkdtemp(join(scratch, "kiln-pkg-cache-")));
    first = await buildPackage(dir, { cache, downloads });
    registry = await startRegistry();
  });
  afterAll(async () => registry?.stop());

  test("builds an image that umoci unpacks into the expected tree", async () => {
    expect(first.built).toBe(true);
    expect(first.name).toMatch(/^kiln\.local\/pkg\/sample:[0-9a-f]{16}$/);
    const rootfs = await unpack(cache, first.name);
    const mode = async (p: string) => ((await lstat(join(rootfs, p))).mode & 0o7777).toString(8);
    expect(await mode("bin/busybox")).toBe("755");
    expect(await mode("usr/bin/hi")).toBe("755");
    expect(await mode("usr/bin/tool")).toBe("755");
    expect(await mode("etc/greeting")).toBe("644");
    expect(await mode("etc/motd")).toBe("600");
    expect(await mode("var/lib/x")).toBe("755");
    expect(await readFile(join(rootfs, "etc/motd"), "utf8")).toBe("hello\n");
    expect(await readlink(join(rootfs, "bin/sh"))).toBe("busybox");
    expect((await execa(join(rootfs, "usr/bin/hi"))).stdout).toBe("hi from go");
    // hello is dynamically linked: its libc came with it, as apt resolved the closure.
    expect((await execa(join(rootfs, "usr/bin/hello"), { env: { LD_LIBRARY_PATH: "" } })).stdout).toBe(
      "Hello, world!",
    );
    await expect(lstat(join(rootfs, "lib/x86_64-linux-gnu/libc.so.6"))).resolves.toBeTruthy();
    // Default excludes and the recipe's own.
    await expect(lstat(join(rootfs, "usr/share/doc"))).rejects.toThrow();
    await expect(lstat(join(rootfs, "usr/share/man"))).rejects.toThrow();
    await expect(lstat(join(rootfs, "usr/share/initramfs-tools"))).rejects.toThrow();
    const owners = await execa("find", [rootfs, "-not", "-user", "0"]);
    expect(owners.stdout).toBe("");
  });

  test("the image config has the entrypoint, env, workdir and the LinuxKit label, and no time stamps", async () => {
    const inspected = JSON.parse(
      (await execa("skopeo", ["inspect", "--config", `oci:${cache.dir}:${first.name}`])).stdout,
    );
    expect(inspected).toEqual({
      architecture: "amd64",
      os: "linux",
      config: {
        Entrypoint: ["/usr/bin/hi"],
        Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
        WorkingDir: "/",
        Labels: { [LABEL_KEY]: JSON.stringify({ capabilities: ["CAP_SYS_ADMIN"], binds: ["/dev:/dev"] }) },
      },
      rootfs: { type: "layers", diff_ids: [expect.stringMatching(/^sha256:/)] },
    });
  });

  test("a second build in the same cache is a no-op; a build into an empty cache gives the same digest", async () => {
    const again = await buildPackage(dir, { cache, downloads });
    expect(again.built).toBe(false);
    expect(again.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);

    const other = await OciCache.open(await mkdtemp(join(scratch, "kiln-pkg-cache-")));
    const elsewhere = await buildPackage(dir, { cache: other, downloads });
    expect(elsewhere.built).toBe(true);
    expect(elsewhere.name).toBe(first.name);
    expect(elsewhere.manifestDescriptor.digest).toBe(first.manifestDescriptor.digest);
    expect(elsewhere.manifest.layers[0]!.digest).toBe(first.manifest.layers[0]!.digest);
  });

  test("a changed local file gives a new tag and a new image", async () => {
    const copy = await makeRecipe();
    await writeFile(join(copy, "rootfs", "etc", "greeting"), "changed\n");
    const changed = await buildPackage(copy, { cache, downloads });
    expect(changed.built).toBe(true);
    expect(changed.name).not.toBe(first.name);
    expect(changed.manifestDescriptor.digest).not.toBe(first.manifestDescriptor.digest);
  });

  test("pushes to a registry that skopeo then reads, sending only the blobs it lacks", async () => {
    const client = new RegistryClient();
    const uploaded: boolean[] = [];
    const target = `${registry.host}/kiln/sample:${first.tag}`;
    const pushed = await pushImage(client, cache, first, target, {
      onBlob: (e) => uploaded.push(e.uploaded),
    });
    expect(pushed).toEqual({ name: target, digest: first.manifestDescriptor.digest });
    expect(uploaded).toEqual([true, true]);
    const remote = JSON.parse(
      (await execa("skopeo", ["inspect", "--tls-verify=false", `docker://${target}`])).stdout,
    );
    expect(remote.Digest).toBe(first.manifestDescriptor.digest);
    expect(remote.Labels[LABEL_KEY]).toContain("CAP_SYS_ADMIN");

    const again: boolean[] = [];
    await pushImage(client, cache, first, `${registry.host}/kiln/sample:again`, {
      onBlob: (e) => again.push(e.uploaded),
    });
    expect(again).toEqual([false, false]);
    const copied = await mkdtemp(join(scratch, "kiln-pkg-copy-"));
    await execa("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${registry.host}/kiln/sample:again`,
      `oci:${copied}:x`,
    ]);
    const index = JSON.parse(await readFile(join(copied, "index.json"), "utf8"));
    expect(index.manifests[0].digest).toBe(first.manifestDescriptor.digest);
  });
});

describe("pushing a package to a registry that needs a login", () => {
  test("is refused without credentials and works with them", async () => {
    const dir = await mkdtemp(join(scratch, "kiln-pkg-auth-"));
    await writeFile(join(dir, "build.yml"), 'name: small\nfiles:\n  - {dst: /hello, contents: "hi\\n"}\n');
    const cache = await OciCache.open(await mkdtemp(join(scratch, "kiln-pkg-cache-")));
    const image = await buildPackage(dir, { cache });
    await using registry = await startRegistry({ auth: { user: "kiln", password: "s3cret" } });
    const target = `${registry.host}/private/small:v1`;
    const anonymous = new RegistryClient({ attempts: 1 });
    await expect(pushImage(anonymous, cache, image, target)).rejects.toThrow(
      `not authorized to push ${registry.host}/private/small:v1 (HTTP 401)`,
    );
    const credentials = { get: async () => ({ username: "kiln", password: "s3cret" }) };
    const client = new RegistryClient({ credentials });
    await expect(pushImage(client, cache, image, target)).resolves.toEqual({
      name: target,
      digest: image.manifestDescriptor.digest,
    });
    const remote = await execa("skopeo", [
      "inspect",
      "--tls-verify=false",
      "--creds",
      "kiln:s3cret",
      `docker://${target}`,
    ]);
    expect(JSON.parse(remote.stdout).Digest).toBe(image.manifestDescriptor.digest);
  });
});

describe("kiln pkg build of a kernel recipe", () => {
  test("writes /kernel and a deterministic /kernel.tar with the module closure and modules.dep", async () => {
    const dir = await mkdtemp(join(scratch, "kiln-pkg-kernel-"));
    await writeFile(
      join(dir, "build.yml"),
      "name: kernel\nkernel:\n  package: linux-image-amd64\n  modules: [virtio_blk, ext4, squashfs]\n",
    );
    const cache = await OciCache.open(await mkdtemp(join(scratch, "kiln-pkg-cache-")));
    const image = await buildPackage(dir, { cache, downloads });
    const rootfs = await unpack(cache, image.name);
    const kernel = await readFile(join(rootfs, "kernel"));
    expect(kernel.subarray(0x202, 0x206).toString("latin1")).toBe("HdrS"); // the x86 boot protocol's magic
    const listing = (await execa("tar", ["-tf", join(rootfs, "kernel.tar")])).stdout.split("\n");
    const version = /^lib\/modules\/([^/]+)\/$/.exec(
      listing.find((l) => /^lib\/modules\/[^/]+\/$/.test(l))!,
    )![1]!;
    const moddir = `lib/modules/${version}`;
    expect(listing.slice(0, 3)).toEqual(["lib/", "lib/modules/", `${moddir}/`]);
    const modules = listing.filter((l) => l.endsWith(".ko")).map((l) => l.slice(l.lastIndexOf("/") + 1));
    // The named modules and their dependencies, nothing else.
    expect(modules.sort()).toEqual(
      [
        "crc16.ko",
        "ext4.ko",
        "jbd2.ko",
        "mbcache.ko",
        "squashfs.ko",
        "virtio.ko",
        "virtio_blk.ko",
        "virtio_ring.ko",
      ].sort(),
    );
    for (const f of ["modules.dep", "modules.dep.bin", "modules.alias", "modules.builtin", "modules.order"])
      expect(listing).toContain(`${moddir}/${f}`);
    const dep = (await execa("tar", ["-xOf", join(rootfs, "kernel.tar"), `${moddir}/modules.dep`])).stdout;
    expect(dep).toContain(
      "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko",
    );
    const verbose = (await execa("tar", ["-tvf", join(rootfs, "kernel.tar"), "--numeric-owner", "--utc"]))
      .stdout;
    for (const line of verbose.split("\n")) expect(line).toMatch(/ 0\/0 .* 2017-04-18 16:30 /);

    const other = await OciCache.open(await mkdtemp(join(scratch, "kiln-pkg-cache-")));
    const rebuilt = await buildPackage(dir, { cache: other, downloads });
    expect(rebuilt.manifestDescriptor.digest).toBe(image.manifestDescriptor.digest);
  });
});
