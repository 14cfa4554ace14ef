import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { gunzipSync } from "node:zlib";
import { KilnError, type LoadedConfig, loadConfig, planBundles, UsageError } from "@kiln/spec";
import { execa } from "execa";
import { beforeAll, describe, expect, test } from "vitest";
import { APP_IMAGE, INIT_IMAGE, kernelImage, putImage } from "../assemble/testdata/images.js";
import { OciCache } from "../cache/cache.js";
import { collectGarbage } from "../cache/gc.js";
import type { Compression } from "../formats/compress.js";
import { RegistryClient } from "../registry/client.js";
import { ImageResolver } from "../resolve/resolver.js";
import { type BuildOptions, buildAppliance } from "./build.js";

// A microcode archive is a newc cpio of its own; any valid one will do.
const UCODE = Buffer.concat([
  Buffer.from(
    `070701${["000002d1", "000081a4", "0", "0", "1", "0", "4", "3", "1", "0", "0", "6", "0"].map((f) => f.padStart(8, "0")).join("")}`,
  ),
  Buffer.from("ucode\0"),
  Buffer.from("UCOD"),
]);

let root: string;
let cache: OciCache;
let yamlPath: string;
let yaml: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-build-"));
  cache = await OciCache.open(join(root, "cache"));
  await putImage(cache, "example.com/kiln/kernel:1", await kernelImage({ ucode: UCODE }));
  await putImage(cache, "example.com/kiln/init:1", INIT_IMAGE);
  await putImage(cache, "example.com/kiln/app:1", APP_IMAGE);
  yaml = [
    "kernel:",
    "  image: example.com/kiln/kernel:1",
    '  cmdline: "console=ttyS0 quiet"',
    "  ucode: ucode.cpio",
    "init:",
    "  - example.com/kiln/init:1",
    "onboot:",
    "  - name: first",
    "    image: example.com/kiln/app:1",
    "services:",
    "  - name: svc",
    "    image: example.com/kiln/app:1",
    "    readonly: true",
    "files:",
    "  - path: etc/app.conf",
    "    source: app.conf",
    '    mode: "0644"',
    "  - path: etc/linuxkit.yml",
    "    metadata: yaml",
    "",
  ].join("\n");
  yamlPath = join(root, "appliance.yml");
  await writeFile(yamlPath, yaml);
  await writeFile(join(root, "app.conf"), "setting=1\n");
});

function loaded(text = yaml): LoadedConfig {
  return loadConfig([{ name: yamlPath, text }]);
}

function options(o: Partial<BuildOptions> & { formats: string[] }): BuildOptions {
  return {
    loaded: loaded(),
    name: "app",
    dir: join(root, "out"),
    arch: "amd64",
    resolver: new ImageResolver({ cache, client: new RegistryClient({}), arch: "amd64" }),
    cache,
    version: "test",
    ...o,
  };
}

const sha = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

/** The compressed initrd that follows the microcode archive in `initrd.img`. */
async function initrdBody(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  expect(bytes.subarray(0, UCODE.length).equals(UCODE)).toBe(true);
  return bytes.subarray(UCODE.length);
}

async function extractCpio(cpio: Buffer): Promise<string> {
  const dir = await mkdtemp(join(root, "x-"));
  await execa("cpio", ["-idm", "--quiet", "--no-absolute-filenames"], { input: cpio, cwd: dir });
  return dir;
}

describe("formats", () => {
  test("kernel+initrd: kernel, cmdline, and ucode + a gzip'd cpio holding the appliance without boot/", async () => {
    const dir = join(root, "ki");
    const result = await buildAppliance(options({ formats: ["kernel+initrd"], dir }));
    expect(result.outputs.map((o) => o.slice(dir.length + 1))).toEqual([
      "app-kernel",
      "app-initrd.img",
      "app-cmdline",
    ]);
    expect(await readFile(join(dir, "app-kernel"), "utf8")).toBe("KERNEL-IMAGE-BYTES");
    expect(await readFile(join(dir, "app-cmdline"), "utf8")).toBe("console=ttyS0 quiet");
    const gz = await initrdBody(join(dir, "app-initrd.img"));
    await execa("gzip", ["-t"], { input: gz });
    const tree = await extractCpio((await execa("gzip", ["-dc"], { input: gz, encoding: "buffer" })).stdout);
    expect(await readdir(join(tree, "boot"))).toEqual([]);
    expect(await readFile(join(tree, "bin/busybox"), "utf8")).toBe("#!busybox\n");
    expect(await readlink(join(tree, "bin/sh"))).toBe("busybox");
    expect(await readlink(join(tree, "etc/resolv.conf"))).toBe("/run/resolvconf/resolv.conf");
    expect(await readFile(join(tree, "lib/modules/6.1.0/kernel/virtio.ko"), "utf8")).toBe("virtio module");
    expect(await readFile(join(tree, "etc/app.conf"), "utf8")).toBe("setting=1\n");
    expect((await stat(join(tree, "etc/app.conf"))).mode & 0o777).toBe(0o644);
    const bundles = planBundles(loaded().config, () => ({
      Entrypoint: ["/usr/bin/app"],
      Cmd: ["--serve"],
      Env: ["PATH=/usr/bin:/bin"],
    }));
    expect(await readFile(join(tree, "containers/onboot/000-first/config.json"), "utf8")).toBe(
      bundles[0]!.configJson,
    );
    expect(await readFile(join(tree, "containers/services/svc/runtime.json"), "utf8")).toBe(
      bundles[1]!.runtimeJson,
    );
    expect(await readFile(join(tree, "containers/onboot/000-first/lower/usr/bin/app"), "utf8")).toBe(
      "#!/bin/sh\necho app\n",
    );
    expect(await readFile(join(tree, "etc/linuxkit.yml"), "utf8")).toMatch(
      /^kernel:\n {2}image: example.com\/kiln\/kernel:1\n/,
    );
  });

  test("tar: GNU tar reads it, boot/ included, every entry tagged with its source", async () => {
    const dir = join(root, "tar");
    await buildAppliance(options({ formats: ["tar"], dir }));
    const tarFile = join(dir, "app.tar");
    const { stdout } = await execa("tar", ["--warning=no-unknown-keyword", "-tvf", tarFile]);
    const names = stdout.split("\n").map((l) => l.split(/\s+/).slice(5).join(" "));
    expect(names.slice(0, 3)).toEqual(["boot/", "boot/cmdline", "boot/kernel"]);
    expect(names).toContain("containers/services/svc/runtime.json");
    expect(names).toContain("bin/sh link to bin/busybox");
    const out = await mkdtemp(join(root, "untar-"));
    await execa("tar", ["--warning=no-unknown-keyword", "-xf", tarFile, "-C", out]);
    expect(await readFile(join(out, "boot/kernel"), "utf8")).toBe("KERNEL-IMAGE-BYTES");
    expect(await readFile(join(out, "boot/ucode.cpio"))).toEqual(UCODE);
    const bytes = await readFile(tarFile);
    expect(bytes.includes("LINUXKIT.source=example.com/kiln/init:1")).toBe(true);
    expect(bytes.includes("LINUXKIT.location=services[0]")).toBe(true);
    expect(bytes.includes("LINUXKIT.source=linuxkit.files")).toBe(true);
  });

  test("docker: the tar with LinuxKit's Dockerfile last", async () => {
    const dir = join(root, "docker");
    await buildAppliance(options({ formats: ["docker"], dir }));
    const { stdout } = await execa("tar", ["--warning=no-unknown-keyword", "-tf", join(dir, "app.docker")]);
    expect(stdout.split("\n").at(-1)).toBe("Dockerfile");
    const dockerfile = await execa("tar", [
      "--warning=no-unknown-keyword",
      "-xOf",
      join(dir, "app.docker"),
      "Dockerfile",
    ]);
    expect(dockerfile.stdout).toBe('\nFROM scratch\n\nCOPY . ./\n\nENTRYPOINT ["/bin/rc.init"]');
  });

  test("tar-kernel-initrd: kernel, initrd.img (no microcode in front), cmdline, ucode.cpio", async () => {
    const dir = join(root, "tki");
    await buildAppliance(options({ formats: ["tar-kernel-initrd"], dir }));
    const file = join(dir, "app-initrd.tar");
    const { stdout } = await execa("tar", ["-tvf", file]);
    expect(stdout.split("\n").map((l) => l.split(/\s+/).slice(5).join(" "))).toEqual([
      "kernel",
      "initrd.img",
      "cmdline",
      "ucode.cpio",
    ]);
    const initrd = (await execa("tar", ["-xOf", file, "initrd.img"], { encoding: "buffer" })).stdout;
    await execa("gzip", ["-t"], { input: Buffer.from(initrd) });
  });

  test.each<Compression>(["zstd", "xz", "none"])(
    "--compression %s gives an initrd cpio reads",
    async (compression) => {
      const dir = join(root, `c-${compression}`);
      await buildAppliance(options({ formats: ["kernel+initrd"], dir, compression }));
      const body = await initrdBody(join(dir, "app-initrd.img"));
      const cpio =
        compression === "none"
          ? body
          : Buffer.from((await execa(compression, ["-dc"], { input: body, encoding: "buffer" })).stdout);
      const tree = await extractCpio(cpio);
      expect(await readFile(join(tree, "sbin/init"), "utf8")).toBe("#!/bin/sh\necho second\n");
    },
  );

  test("-o FILE and -o - (a stream) give the tar format's bytes", async () => {
    const file = join(root, "o", "rootfs.tar");
    await mkdir(join(root, "o"), { recursive: true });
    await buildAppliance(options({ formats: ["tar"], output: file }));
    const stream = new PassThrough();
    const parts: Buffer[] = [];
    stream.on("data", (c: Buffer) => parts.push(c));
    const result = await buildAppliance(options({ formats: ["tar"], output: stream }));
    expect(result.outputs).toEqual(["-"]);
    const plain = join(root, "o-plain");
    await buildAppliance(options({ formats: ["tar"], dir: plain }));
    const expected = await sha(join(plain, "app.tar"));
    expect(await sha(file)).toBe(expected);
    expect(createHash("sha256").update(Buffer.concat(parts)).digest("hex")).toBe(expected);
  });
});

describe("reproducible", () => {
  test("every format is byte-identical across two builds, and gzip across worker counts", async () => {
    const formats = ["kernel+initrd", "tar-kernel-initrd"];
    const a = join(root, "repro-a");
    const b = join(root, "repro-b");
    await buildAppliance(options({ formats, dir: a, workers: 1 }));
    await buildAppliance(options({ formats, dir: b, workers: 4 }));
    for (const f of ["tar", "docker"]) {
      await buildAppliance(options({ formats: [f], dir: a }));
      await buildAppliance(options({ formats: [f], dir: b }));
    }
    const files = (await readdir(a)).sort();
    expect(files).toEqual([
      "app-cmdline",
      "app-initrd.img",
      "app-initrd.tar",
      "app-kernel",
      "app.docker",
      "app.tar",
    ]);
    expect((await readdir(b)).sort()).toEqual(files);
    for (const f of files) expect(await sha(join(b, f)), f).toBe(await sha(join(a, f)));
  });
});

describe("initrd pieces", () => {
  test("each big container image is deflated once; later builds reuse it and write the same initrd", async () => {
    // Pieces are cut for images of 1 MiB and more (compressed), so this one carries incompressible bytes.
    const big = await putImage(cache, "example.com/kiln/big:1", {
      layers: [
        [
          { name: "usr/", type: "directory" },
          { name: "usr/blob", content: randomBytes(3 << 19) },
        ],
      ],
      config: { Entrypoint: ["/usr/blob"] },
    });
    const text = `${yaml}services:\n  - name: big\n    image: example.com/kiln/big:1\n`.replace(
      "services:\n  - name: svc",
      "  - name: svc2",
    );
    const pieces = join(cache.dir, "initrd-pieces");
    await rm(pieces, { recursive: true, force: true });
    const build = (dir: string, t: string) =>
      buildAppliance(options({ formats: ["kernel+initrd"], dir, force: true, loaded: loaded(t) }));
    await build(join(root, "pieces-cold"), text);
    // Only the big image becomes a piece; the small app image stays in the deflate run around it.
    const made = await readdir(pieces);
    expect(made).toHaveLength(1);
    expect(made[0]!.startsWith(big.manifestDescriptor.digest.slice(7))).toBe(true);
    const inode = async () => (await stat(join(pieces, made[0]!))).ino;
    const first = await inode();
    await build(join(root, "pieces-warm"), text);
    expect(await sha(join(root, "pieces-warm", "app-initrd.img"))).toBe(
      await sha(join(root, "pieces-cold", "app-initrd.img")),
    );
    // A changed command line and file still reuse the piece (nothing before it moved)...
    const edited = text
      .replace("console=ttyS0 quiet", "console=ttyS0")
      .replace("metadata: yaml", "metadata: json");
    await build(join(root, "pieces-edited"), edited);
    expect(await readdir(pieces)).toEqual(made);
    expect(await inode()).toBe(first);
    // ...and give exactly what a build with no pieces at all gives, which GNU cpio reads whole.
    await rm(pieces, { recursive: true, force: true });
    await build(join(root, "pieces-edited-cold"), edited);
    const initrd = join(root, "pieces-edited", "app-initrd.img");
    expect(await sha(initrd)).toBe(await sha(join(root, "pieces-edited-cold", "app-initrd.img")));
    const tree = await extractCpio(gunzipSync(await initrdBody(initrd)));
    expect((await stat(join(tree, "containers/services/big/lower/usr/blob"))).size).toBe(3 << 19);
    expect(await readFile(join(tree, "etc/linuxkit.yml"), "utf8")).toContain('"big"');
  });
});

describe("initrd pieces: the root", () => {
  test("the kernel, init images and volumes are one piece, kept across command-line edits", async () => {
    await putImage(cache, "example.com/kiln/big-init:1", {
      layers: [
        [
          { name: "opt/", type: "directory" },
          { name: "opt/blob", content: randomBytes(3 << 19) },
        ],
      ],
    });
    const kernel = await putImage(cache, "example.com/kiln/kernel:1", await kernelImage({ ucode: UCODE }));
    const text = yaml.replace(
      "  - example.com/kiln/init:1",
      "  - example.com/kiln/init:1\n  - example.com/kiln/big-init:1",
    );
    const pieces = join(cache.dir, "initrd-pieces");
    await rm(pieces, { recursive: true, force: true });
    const build = (dir: string, t: string) =>
      buildAppliance(options({ formats: ["kernel+initrd"], dir, force: true, loaded: loaded(t) }));
    await build(join(root, "root-a"), text);
    const made = await readdir(pieces);
    expect(made).toHaveLength(1);
    expect(made[0]!.startsWith(kernel.manifestDescriptor.digest.slice(7))).toBe(true);
    await build(join(root, "root-b"), text.replace("console=ttyS0 quiet", "console=ttyS0"));
    expect(await readdir(pieces)).toEqual(made);
    const tree = await extractCpio(gunzipSync(await initrdBody(join(root, "root-b", "app-initrd.img"))));
    expect((await stat(join(tree, "opt/blob"))).size).toBe(3 << 19);
    // Another init image changes the root: a new piece.
    await build(
      join(root, "root-c"),
      text.replace(
        "  - example.com/kiln/big-init:1",
        "  - example.com/kiln/big-init:1\n  - example.com/kiln/app:1",
      ),
    );
    expect(await readdir(pieces)).toHaveLength(2);
  });
});

describe("boot files cache", () => {
  test("the kernel and microcode are extracted once, then copied; a damaged copy is noticed and redone", async () => {
    const bootDir = join(cache.dir, "boot");
    await rm(bootDir, { recursive: true, force: true });
    const build = (dir: string) => buildAppliance(options({ formats: ["kernel+initrd"], dir, force: true }));
    await build(join(root, "boot-a"));
    const [entry] = await readdir(bootDir);
    expect((await readdir(join(bootDir, entry!))).sort()).toEqual(["kernel", "sums.json", "ucode"]);
    // Damage the cached kernel: the next build must not ship it.
    await writeFile(join(bootDir, entry!, "kernel"), "not a kernel");
    await build(join(root, "boot-b"));
    await build(join(root, "boot-c"));
    for (const f of ["app-kernel", "app-initrd.img"]) {
      expect(await sha(join(root, "boot-b", f)), f).toBe(await sha(join(root, "boot-a", f)));
      expect(await sha(join(root, "boot-c", f)), f).toBe(await sha(join(root, "boot-a", f)));
    }
    expect(await readFile(join(bootDir, entry!, "kernel"), "utf8")).not.toBe("not a kernel");
  });
});

describe("incremental", () => {
  test("an unchanged build is a no-op that touches nothing and answers fast", async () => {
    const dir = join(root, "noop");
    const first = await buildAppliance(options({ formats: ["kernel+initrd"], dir }));
    expect(first.upToDate).toBe(false);
    const before = await stat(join(dir, "app-initrd.img"));
    const started = performance.now();
    const second = await buildAppliance(options({ formats: ["kernel+initrd"], dir }));
    const ms = performance.now() - started;
    expect(second).toEqual({ ...first, upToDate: true });
    expect(ms).toBeLessThan(500);
    expect((await stat(join(dir, "app-initrd.img"))).mtimeMs).toBe(before.mtimeMs);
    const record = JSON.parse(await readFile(join(cache.dir, "builds", `${first.key}.json`), "utf8")) as {
      outputs: Array<{ path: string; sha256: string }>;
    };
    expect(record.outputs.map((o) => o.path)).toEqual(first.outputs);
    expect(record.outputs[1]!.sha256).toBe(await sha(join(dir, "app-initrd.img")));
  });

  test("a changed YAML, image, source file or output, or a missing output, rebuilds", async () => {
    const dir = join(root, "changes");
    const build = (o: Partial<BuildOptions> = {}) =>
      buildAppliance(options({ formats: ["kernel+initrd"], dir, ...o }));
    expect((await build()).upToDate).toBe(false);
    expect((await build()).upToDate).toBe(true);

    expect((await build({ loaded: loaded(yaml.replace("quiet", "loud")) })).upToDate).toBe(false);
    expect((await build()).upToDate).toBe(false);
    expect((await build()).upToDate).toBe(true);

    await writeFile(join(root, "app.conf"), "setting=2\n");
    expect((await build()).upToDate).toBe(false);
    expect((await build()).upToDate).toBe(true);

    await putImage(cache, "example.com/kiln/app:1", {
      ...APP_IMAGE,
      config: { Entrypoint: ["/usr/bin/app", "-v"] },
    });
    expect((await build()).upToDate).toBe(false);
    await putImage(cache, "example.com/kiln/app:1", APP_IMAGE);
    expect((await build()).upToDate).toBe(false);
    expect((await build()).upToDate).toBe(true);

    const initrd = join(dir, "app-initrd.img");
    await utimes(initrd, new Date(), new Date(Date.now() + 5000));
    expect((await build()).upToDate).toBe(false);
    await rm(join(dir, "app-cmdline"));
    expect((await build()).upToDate).toBe(false);
    expect(await readFile(join(dir, "app-cmdline"), "utf8")).toBe("console=ttyS0 quiet");
    expect((await build({ force: true })).upToDate).toBe(false);
    await writeFile(join(root, "app.conf"), "setting=1\n");
  });
});

describe("nothing half-written", () => {
  async function listing(dir: string): Promise<string[]> {
    return (await readdir(dir)).sort();
  }

  test("an abort between formats leaves no output, no temp file and no work directory", async () => {
    const dir = join(root, "abort");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "app-kernel"), "an earlier build's kernel");
    const controller = new AbortController();
    const log = (line: string) => {
      if (line.startsWith("writing tar-kernel-initrd")) controller.abort(new Error("stop here"));
    };
    await expect(
      buildAppliance(
        options({ formats: ["kernel+initrd", "tar-kernel-initrd"], dir, signal: controller.signal, log }),
      ),
    ).rejects.toThrow("stop here");
    expect(await listing(dir)).toEqual(["app-kernel"]);
    expect(await readFile(join(dir, "app-kernel"), "utf8")).toBe("an earlier build's kernel");
  });

  test("an abort in the middle of the initrd stops it too", async () => {
    const dir = join(root, "abort2");
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("mid-way")), 5);
    await expect(
      buildAppliance(
        options({ formats: ["kernel+initrd", "tar"].slice(0, 1), dir, signal: controller.signal }),
      ),
    ).rejects.toThrow("mid-way");
    expect(await listing(dir).catch(() => [])).toEqual([]);
  });

  test("a failing input fails the build before any output appears", async () => {
    const dir = join(root, "fail");
    const broken = loaded(yaml.replace("source: app.conf", "source: missing.conf"));
    const err = await buildAppliance(options({ formats: ["kernel+initrd"], dir, loaded: broken })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).message).toMatch(/files\[0\]: cannot read the source .*missing.conf/);
    expect(await listing(dir)).toEqual([]);
  });
});

describe("usage", () => {
  test.each([
    [{ formats: ["tar", "kernel+initrd"] }, /format tar must be the only format/],
    [{ formats: ["kernel+initrd"], output: "x.tar" }, /-o is only for a single streamable format/],
    [{ formats: ["iso-efii"] }, /unknown format "iso-efii"/],
    [{ formats: ["gcp"] }, /format gcp is not supported by this version of kiln yet/],
  ])("%j is refused", async (o, message) => {
    const err = await buildAppliance(options(o)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
  });
  test("a format that needs a kernel says so when the YAML has none", async () => {
    await expect(
      buildAppliance(
        options({ formats: ["kernel+initrd"], loaded: loaded("init:\n  - example.com/kiln/init:1\n") }),
      ),
    ).rejects.toThrow(/format kernel\+initrd needs a kernel/);
  });
});

describe("cache gc", () => {
  test("drops the initrd pieces and extracted kernels of images that are gone, and keeps the others", async () => {
    const own = await OciCache.open(join(root, "gc-cache"));
    await putImage(own, "example.com/kiln/kernel:1", await kernelImage({ ucode: UCODE }));
    await putImage(own, "example.com/kiln/init:1", INIT_IMAGE);
    await putImage(own, "example.com/kiln/app:1", APP_IMAGE);
    await putImage(own, "example.com/kiln/big:1", {
      layers: [
        [
          { name: "usr/", type: "directory" },
          { name: "usr/blob", content: randomBytes(3 << 19) },
        ],
      ],
    });
    await buildAppliance({
      ...options({ formats: ["kernel+initrd"], dir: join(root, "gc-out") }),
      loaded: loaded(
        `${yaml}services:\n  - name: big\n    image: example.com/kiln/big:1\n`.replace(
          "services:\n  - name: svc",
          "  - name: svc2",
        ),
      ),
      cache: own,
      resolver: new ImageResolver({ cache: own, client: new RegistryClient({}), arch: "amd64" }),
    });
    const pieces = () => readdir(join(own.dir, "initrd-pieces"));
    const boot = () => readdir(join(own.dir, "boot"));
    expect(await pieces()).toHaveLength(1);
    expect(await boot()).toHaveLength(1);
    const later = Date.now() + 24 * 3600_000;
    await collectGarbage(own, later);
    expect(await pieces()).toHaveLength(1);
    expect(await boot()).toHaveLength(1);
    await own.untag("example.com/kiln/big:1");
    await own.untag("example.com/kiln/kernel:1");
    await collectGarbage(own, later);
    expect(await pieces()).toEqual([]);
    expect(await boot()).toEqual([]);
  });
});
