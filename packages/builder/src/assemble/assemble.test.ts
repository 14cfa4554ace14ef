import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { KilnError, loadConfig, type RawConfig } from "@kiln/spec";
import { execa } from "execa";
import { extract } from "tar-stream";
import { beforeAll, describe, expect, test } from "vitest";
import { OciCache } from "../cache/cache.js";
import { writeTarFile } from "../formats/tar.js";
import { assembleAppliance } from "./assemble.js";
import { PAX_LOCATION, PAX_SOURCE, readAll } from "./entries.js";
import { type ApplianceImage, cachedImage, linuxkitName } from "./image.js";
import { APP_IMAGE, INIT_IMAGE, kernelImage, putImage, type TestImage } from "./testdata/images.js";

const MTIME = new Date("2017-04-18T16:30:00Z");

interface Seen {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname?: string;
  source?: string;
  location?: string;
  content?: string;
}

let cache: OciCache;
let root: string;
const images = new Map<string, ApplianceImage>();

async function add(ref: string, image: TestImage): Promise<void> {
  const resolved = await putImage(cache, ref, image);
  images.set(ref, cachedImage(cache, ref, resolved));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-assemble-"));
  cache = await OciCache.open(join(root, "cache"));
  await add("example.com/kiln/kernel:1", await kernelImage({ ucode: Buffer.from("UCODE") }));
  await add("example.com/kiln/init:1", INIT_IMAGE);
  await add("example.com/kiln/init2:1", {
    layers: [
      [
        { name: "lib/apk/db/installed", content: "P:second\n" },
        { name: "etc/two", content: "2" },
      ],
    ],
  });
  await add("example.com/kiln/app:1", APP_IMAGE);
  await add("example.com/kiln/other:1", { layers: [[{ name: "other", content: "o" }]] });
});

function config(yaml: string, file = join(root, "appliance.yml")): { config: RawConfig; dir: string } {
  return { config: loadConfig([{ name: file, text: yaml }]).config, dir: join(file, "..") };
}

async function assemble(yaml: string, o: { mtime?: Date; file?: string } = {}): Promise<Seen[]> {
  const { config: c, dir } = config(yaml, o.file);
  const out: Seen[] = [];
  for await (const { entry, body } of assembleAppliance({
    config: c,
    image: (ref) => images.get(ref)!,
    mtime: o.mtime ?? MTIME,
    fileBaseDir: () => dir,
  })) {
    const seen: Seen = {
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      mtime: entry.mtime.getTime(),
      size: entry.size,
    };
    if (entry.linkname !== undefined) seen.linkname = entry.linkname;
    if (entry.pax?.[PAX_SOURCE] !== undefined) seen.source = entry.pax[PAX_SOURCE];
    if (entry.pax?.[PAX_LOCATION] !== undefined) seen.location = entry.pax[PAX_LOCATION];
    if (body) seen.content = (await readAll(body)).toString();
    out.push(seen);
  }
  return out;
}

const paths = (seen: Seen[]) => seen.map((s) => s.path);
const find = (seen: Seen[], path: string) => seen.filter((s) => s.path === path);

describe("kernel", () => {
  test("boot/, boot/cmdline, boot/kernel, the modules at the root, boot/ucode.cpio; nothing else", async () => {
    const seen = await assemble(
      "kernel:\n  image: example.com/kiln/kernel:1\n  cmdline: console=ttyS0 quiet\n  ucode: ucode.cpio\n",
    );
    expect(paths(seen)).toEqual([
      "boot",
      "boot/cmdline",
      "boot/kernel",
      "lib",
      "lib/modules",
      "lib/modules/6.1.0",
      "lib/modules/6.1.0/kernel",
      "lib/modules/6.1.0/kernel/virtio.ko",
      "lib/modules/6.1.0/modules.dep",
      "boot/ucode.cpio",
    ]);
    expect(find(seen, "boot/cmdline")[0]!.content).toBe("console=ttyS0 quiet");
    expect(find(seen, "boot/kernel")[0]).toMatchObject({
      content: "KERNEL-IMAGE-BYTES",
      mtime: MTIME.getTime(),
    });
    expect(find(seen, "boot/ucode.cpio")[0]!.content).toBe("UCODE");
    // The modules keep their own time stamps; everything is tagged as the kernel's.
    expect(find(seen, "lib/modules/6.1.0/modules.dep")[0]!.mtime).toBe(Date.parse("2020-01-02T03:04:05Z"));
    for (const s of seen)
      expect(s).toMatchObject({ source: "example.com/kiln/kernel:1", location: "kernel" });
  });
  test("directories the modules tarball leaves out are added before their first child", async () => {
    await add(
      "example.com/kiln/kernel:bare",
      await kernelImage({
        modules: [
          { name: "lib/modules/6.1.0/kernel/a.ko", content: "a" },
          { name: "lib/modules/6.1.0/b.ko" },
        ],
      }),
    );
    const seen = await assemble("kernel:\n  image: example.com/kiln/kernel:bare\n");
    expect(paths(seen).slice(3)).toEqual([
      "lib",
      "lib/modules",
      "lib/modules/6.1.0",
      "lib/modules/6.1.0/kernel",
      "lib/modules/6.1.0/kernel/a.ko",
      "lib/modules/6.1.0/b.ko",
    ]);
    expect(find(seen, "lib/modules")[0]).toMatchObject({
      type: "directory",
      mode: 0o755,
      mtime: MTIME.getTime(),
    });
  });
  test("tar: none skips the modules; a missing kernel or modules tarball is an error naming it", async () => {
    const none = await assemble("kernel:\n  image: example.com/kiln/kernel:1\n  tar: none\n");
    expect(paths(none)).toEqual(["boot", "boot/cmdline", "boot/kernel"]);
    await expect(
      assemble("kernel:\n  image: example.com/kiln/kernel:1\n  binary: vmlinuz\n"),
    ).rejects.toThrow(/kernel image example.com\/kiln\/kernel:1 has no file `vmlinuz`/);
    await expect(
      assemble("kernel:\n  image: example.com/kiln/kernel:1\n  tar: modules.tar\n"),
    ).rejects.toThrow(KilnError);
  });
});

describe("images unpacked LinuxKit's way", () => {
  test("init: Docker leftovers dropped, hosts replaced, resolv.conf linked, required files appended", async () => {
    const seen = await assemble("init:\n  - example.com/kiln/init:1\n");
    const p = paths(seen);
    for (const gone of [".dockerenv", "etc/hostname", "dev/console"]) expect(p).not.toContain(gone);
    const hosts = find(seen, "etc/hosts");
    expect(hosts).toHaveLength(2); // the replacement in place, and LinuxKit's unconditional copy at the end
    for (const h of hosts) expect(h.content).toMatch(/^127\.0\.0\.1 {7}localhost\n/);
    for (const r of find(seen, "etc/resolv.conf"))
      expect(r).toMatchObject({
        type: "symlink",
        linkname: "/run/resolvconf/resolv.conf",
        mtime: MTIME.getTime(),
      });
    expect(p.slice(-9)).toEqual([
      "dev",
      "dev/pts",
      "dev/shm",
      "etc",
      "etc/hosts",
      "etc/mtab",
      "etc/resolv.conf",
      "proc",
      "sys",
    ]);
    expect(find(seen, "etc/mtab")[0]).toMatchObject({
      type: "symlink",
      linkname: "/proc/mounts",
      mode: 0o755,
    });
    // Layers flattened: the upper layer's file, owner kept; the hard link kept as a hard link.
    expect(find(seen, "sbin/init")).toEqual([
      expect.objectContaining({ content: "#!/bin/sh\necho second\n" }),
    ]);
    expect(find(seen, "etc/motd")[0]).toMatchObject({ uid: 1000, gid: 1000 });
    expect(find(seen, "bin/sh")[0]).toMatchObject({ type: "link", linkname: "bin/busybox" });
    expect(find(seen, "dev/null")[0]).toMatchObject({ type: "character-device" });
    for (const s of seen) expect(s).toMatchObject({ source: "example.com/kiln/init:1", location: "init[0]" });
  });
  test("init package databases: the union is appended after the init images", async () => {
    const seen = await assemble("init:\n  - example.com/kiln/init:1\n  - example.com/kiln/init2:1\n");
    const dbs = find(seen, "lib/apk/db/installed");
    expect(dbs.map((d) => d.source)).toEqual([
      "example.com/kiln/init:1",
      "example.com/kiln/init2:1",
      "LINUXKIT.apkinit",
    ]);
    expect(dbs[2]!.content).toBe("P:busybox\nV:1.36\n\n\nP:second\n\n\n");
    expect(dbs[2]!.location).toBe("init");
  });
  test("bundles: lower/tmp/rootfs, readonly rootfs, each image unpacked once, hard links re-prefixed", async () => {
    const seen = await assemble(
      [
        "onboot:",
        "  - name: first",
        "    image: example.com/kiln/app:1",
        "  - name: again",
        "    image: example.com/kiln/app:1",
        "onshutdown:",
        "  - name: bye",
        "    image: example.com/kiln/other:1",
        "    readonly: true",
        "services:",
        "  - name: svc",
        "    image: example.com/kiln/app:1",
        "    readonly: true",
        "",
      ].join("\n"),
    );
    const p = paths(seen);
    const lower = "containers/onboot/000-first/lower";
    expect(p).toContain(`${lower}/usr/bin/app`);
    expect(find(seen, `${lower}/usr/bin/app-again`)[0]).toMatchObject({
      type: "link",
      linkname: `${lower}/usr/bin/app`,
    });
    // unpacked once, at the first bundle
    expect(p.filter((x) => x.endsWith("usr/bin/app"))).toEqual([`${lower}/usr/bin/app`]);
    // A container's /etc/resolv.conf is a file; an image's own /etc/mtab stays, with LinuxKit's time stamp.
    expect(find(seen, `${lower}/etc/resolv.conf`)[0]).toMatchObject({
      type: "file",
      content: "\n# no resolv.conf configured\n",
    });
    expect(find(seen, `${lower}/etc/mtab`)).toEqual([
      expect.objectContaining({ type: "symlink", linkname: "../proc/self/mounts", mtime: MTIME.getTime() }),
    ]);
    expect(p.filter((x) => x.startsWith("containers/onboot/001-again"))).toEqual([
      "containers/onboot/001-again",
      "containers/onboot/001-again/config.json",
      "containers/onboot/001-again/tmp",
      "containers/onboot/001-again/rootfs",
      "containers/onboot/001-again/runtime.json",
    ]);
    expect(p.filter((x) => x.startsWith("containers/onshutdown/000-bye/"))).toContain(
      "containers/onshutdown/000-bye/rootfs/other",
    );
    expect(p.filter((x) => x.startsWith("containers/services/svc"))).toEqual([
      "containers/services/svc",
      "containers/services/svc/config.json",
      "containers/services/svc/rootfs",
      "containers/services/svc/runtime.json",
    ]);
    const runtime = JSON.parse(find(seen, "containers/services/svc/runtime.json")[0]!.content!) as {
      mounts: Array<{ source: string }>;
    };
    expect(runtime.mounts[0]!.source).toBe(`/${lower}`);
    const config = JSON.parse(find(seen, "containers/onboot/000-first/config.json")[0]!.content!) as {
      process: { args: string[] };
    };
    expect(config.process.args).toEqual(["/usr/bin/app", "--serve"]);
    for (const s of seen.filter((x) => x.path.startsWith("containers/services/")))
      expect(s).toMatchObject({
        source: "example.com/kiln/app:1",
        location: "services[0]",
        mtime: MTIME.getTime(),
      });
  });
  test("volumes: blank, and from an image with resolv.conf linked", async () => {
    const seen = await assemble(
      "volumes:\n  - name: blank\n  - name: data\n    image: example.com/kiln/other:1\n",
    );
    expect(seen.filter((s) => s.location === "volume[0]").map((s) => [s.path, s.source])).toEqual([
      ["containers", "empty"],
      ["containers/volumes", "empty"],
      ["containers/volumes/blank", "empty"],
      ["containers/volumes/blank/lower", "empty"],
      ["containers/volumes/blank/tmp", "linuxkit.volumes"],
      ["containers/volumes/blank/merged", "linuxkit.volumes"],
    ]);
    expect(find(seen, "containers/volumes/data/lower/other")[0]).toMatchObject({
      source: "example.com/kiln/other:1",
    });
    expect(find(seen, "containers/volumes/data/lower/etc/resolv.conf")[0]).toMatchObject({ type: "symlink" });
    await expect(
      assemble("volumes:\n  - name: x\n    image: example.com/kiln/other:1\n    format: oci\n"),
    ).rejects.toThrow(/format: oci/);
  });
});

describe("files", () => {
  test("contents, directories, symlinks, sources next to the YAML, metadata, modes and owners", async () => {
    const yamlDir = join(root, "project");
    await mkdir(join(yamlDir, "conf"), { recursive: true });
    await writeFile(join(yamlDir, "conf", "motd"), "from a source file\n");
    const seen = await assemble(
      [
        "onboot:",
        "  - name: svc",
        "    image: example.com/kiln/other:1",
        "files:",
        "  - path: /etc/app/config",
        "    contents: hello",
        "  - path: etc/app/more",
        "    contents: more",
        '    mode: "0644"',
        "  - path: var/lib/data",
        "    directory: true",
        "    uid: svc",
        "  - path: etc/app/link",
        "    symlink: /etc/app/config",
        "  - path: etc/motd",
        "    source: conf/motd",
        "  - path: opt/missing",
        "    source: conf/absent",
        "    optional: true",
        "  - path: etc/linuxkit.json",
        "    metadata: json",
        "",
      ].join("\n"),
      { file: join(yamlDir, "appliance.yml") },
    );
    const files = seen.filter((s) => s.source === "linuxkit.files");
    expect(files.map((s) => [s.path, s.type, s.mode.toString(8), s.location])).toEqual([
      ["etc", "directory", "700", "files[0]"],
      ["etc/app", "directory", "700", "files[0]"],
      ["etc/app/config", "file", "600", "files[0]"],
      ["etc/app/more", "file", "644", "files[1]"],
      ["var", "directory", "700", "files[2]"],
      ["var/lib", "directory", "700", "files[2]"],
      ["var/lib/data", "directory", "700", "files[2]"],
      ["etc/app/link", "symlink", "600", "files[3]"],
      ["etc/motd", "file", "600", "files[4]"],
      ["etc/linuxkit.json", "file", "600", "files[6]"],
    ]);
    expect(find(files, "var/lib/data")[0]).toMatchObject({ uid: 100, gid: 0 });
    expect(find(files, "etc/motd")[0]!.content).toBe("from a source file\n");
    const metadata = JSON.parse(find(files, "etc/linuxkit.json")[0]!.content!) as {
      onboot: Array<{ image: string }>;
    };
    expect(metadata.onboot[0]!.image).toBe("example.com/kiln/other:1");
  });
  test("a missing source that is not optional is an error naming the entry and the path", async () => {
    await expect(assemble("files:\n  - path: x\n    source: nowhere/file\n")).rejects.toThrow(
      /files\[0\]: cannot read the source .*nowhere\/file: no such file/,
    );
  });
});

describe("the whole appliance", () => {
  const yaml = [
    "kernel:",
    "  image: example.com/kiln/kernel:1",
    "init:",
    "  - example.com/kiln/init:1",
    "onboot:",
    "  - name: a",
    "    image: example.com/kiln/app:1",
    "services:",
    "  - name: s",
    "    image: example.com/kiln/other:1",
    "files:",
    "  - path: etc/x",
    "    contents: x",
    "volumes:",
    "  - name: v",
    "",
  ].join("\n");
  test("sections in LinuxKit's order, every entry but none tagged", async () => {
    const seen = await assemble(yaml);
    const order = [...new Set(seen.map((s) => s.location!.replace(/\[\d+\]$/, "")))];
    expect(order).toEqual(["kernel", "init", "volume", "onboot", "services", "files"]);
    for (const s of seen) expect(s.source).toBeDefined();
  });
  test("the same inputs give the same stream; SOURCE_DATE_EPOCH moves only generated time stamps", async () => {
    expect(await assemble(yaml)).toEqual(await assemble(yaml));
    const later = new Date("2024-01-01T00:00:00Z");
    const moved = await assemble(yaml, { mtime: later });
    expect(find(moved, "boot/cmdline")[0]!.mtime).toBe(later.getTime());
    expect(find(moved, "containers/services/s/config.json")[0]!.mtime).toBe(later.getTime());
    expect(find(moved, "bin/busybox")[0]!.mtime).toBe(Date.parse("2020-01-02T03:04:05Z"));
  });
  test("a bad label fails before the first entry", async () => {
    await add("example.com/kiln/badlabel:1", {
      layers: [[{ name: "x", content: "x" }]],
      config: { Labels: { "org.mobyproject.config": '{"name":"nope"}' } },
    });
    const gen = assembleAppliance({
      config: config("onboot:\n  - name: a\n    image: example.com/kiln/badlabel:1\n").config,
      image: (ref) => images.get(ref)!,
      mtime: MTIME,
    });
    await expect(gen.next()).rejects.toThrow(/label is invalid: name cannot be set/);
  });
});

describe("image names", () => {
  test("LinuxKit's form: expanded, without a default :latest; local sources by their cache name", () => {
    expect(linuxkitName("docker.io/library/alpine:latest")).toBe("docker.io/library/alpine");
    expect(linuxkitName("docker.io/library/alpine:3.20")).toBe("docker.io/library/alpine:3.20");
    expect(linuxkitName("@pkg:/src/images/init", "kiln.local/pkg/init:0123abcd")).toBe(
      "kiln.local/pkg/init:0123abcd",
    );
    expect(linuxkitName("oci-layout:/x/y:tag", "oci-layout:/x/y:tag")).toBe("oci-layout:/x/y:tag");
  });
});

describe("init images merged at the root", () => {
  const REAL = new Date("2019-05-06T07:08:09Z");
  const yaml = (...refs: string[]) =>
    [
      "kernel:",
      "  image: example.com/kiln/kernel:real-lib",
      "init:",
      ...refs.map((r) => `  - ${r}`),
      "",
    ].join("\n");

  beforeAll(async () => {
    await add(
      "example.com/kiln/kernel:real-lib",
      await kernelImage({
        modules: [
          { name: "lib/", type: "directory", mode: 0o750, mtime: REAL },
          { name: "lib/modules/", type: "directory", mtime: REAL },
          { name: "lib/modules/6.1.0/", type: "directory", mtime: REAL },
          { name: "lib/modules/6.1.0/virtio.ko", content: "virtio" },
        ],
      }),
    );
    await add("example.com/kiln/real-usr:1", {
      layers: [
        [
          { name: "usr/", type: "directory", mode: 0o775, uid: 7, gid: 8, mtime: REAL },
          { name: "usr/share/", type: "directory", mtime: REAL },
          { name: "usr/share/a", content: "a" },
        ],
      ],
    });
    // Leaves out usr/, usr/bin/, lib/ and lib/firmware/: flattening makes them up.
    await add("example.com/kiln/loose:1", {
      layers: [
        [
          { name: "usr/bin/x", content: "x", mode: 0o755 },
          { name: "lib/firmware/fw.bin", content: "fw" },
        ],
      ],
    });
  });

  /** The tar output, as GNU tar lists it: `MODE UID/GID SIZE DATE TIME PATH` per entry. */
  async function tarListing(text: string): Promise<{ lines: string[]; pax: Map<string, string[]> }> {
    const { config: c } = config(text);
    const file = join(await mkdtemp(join(root, "merge-")), "out.tar");
    await writeTarFile(
      assembleAppliance({ config: c, image: (ref) => images.get(ref)!, mtime: MTIME }),
      file,
    );
    const listed = await execa("tar", ["-tv", "--numeric-owner", "--full-time", "-f", file], {
      env: { TZ: "UTC" },
    });
    const lines = listed.stdout.split("\n").map((l) => l.replace(/\s+/g, " "));
    const pax = new Map<string, string[]>();
    const ex = extract();
    const reading = (async () => {
      for await (const e of ex) {
        pax.set(e.header.name, Object.keys(e.header.pax ?? {}).sort());
        e.resume();
      }
    })();
    await pipeline(createReadStream(file), ex as unknown as NodeJS.WritableStream);
    await reading;
    return { lines, pax };
  }
  const entriesOf = (lines: string[], path: string) => lines.filter((l) => l.endsWith(` ${path}`));

  test("a parent one image leaves out does not replace the directory an earlier image wrote", async () => {
    const { lines } = await tarListing(yaml("example.com/kiln/real-usr:1", "example.com/kiln/loose:1"));
    // The first image's usr/, once, with its own mode, owner and time; LinuxKit writes nothing else there.
    expect(entriesOf(lines, "usr/")).toEqual(["drwxrwxr-x 7/8 0 2019-05-06 07:08:09 usr/"]);
    // The kernel's modules wrote lib/ first; the init image's made-up lib/ is not written over it.
    expect(entriesOf(lines, "lib/")).toEqual(["drwxr-x--- 0/0 0 2019-05-06 07:08:09 lib/"]);
    // A parent nothing earlier wrote is still made, before the file under it.
    expect(entriesOf(lines, "usr/bin/")).toEqual(["drwxr-xr-x 0/0 0 1970-01-01 00:00:00 usr/bin/"]);
    expect(entriesOf(lines, "lib/firmware/")).toEqual(["drwxr-xr-x 0/0 0 1970-01-01 00:00:00 lib/firmware/"]);
    const at = (p: string) => lines.findIndex((l) => l.endsWith(` ${p}`));
    expect(at("usr/bin/")).toBeLessThan(at("usr/bin/x"));
    expect(at("lib/firmware/")).toBeLessThan(at("lib/firmware/fw.bin"));
  });

  test("each init image on its own still gets every parent it leaves out", async () => {
    const { lines } = await tarListing(
      ["init:", "  - example.com/kiln/loose:1", "  - example.com/kiln/real-usr:1", ""].join("\n"),
    );
    // Made up for the first image, then really written by the second: LinuxKit has only the second.
    expect(entriesOf(lines, "usr/")).toEqual([
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 usr/",
      "drwxrwxr-x 7/8 0 2019-05-06 07:08:09 usr/",
    ]);
    expect(entriesOf(lines, "lib/")).toEqual(["drwxr-xr-x 0/0 0 1970-01-01 00:00:00 lib/"]);
  });

  test("a parent made up twice is written once; the mark never reaches the tar", async () => {
    const twice = yaml("example.com/kiln/loose:1", "example.com/kiln/loose:1");
    const { lines, pax } = await tarListing(
      `${twice}onboot:\n  - name: c\n    image: example.com/kiln/loose:1\n`,
    );
    expect(entriesOf(lines, "usr/")).toHaveLength(1);
    expect(entriesOf(lines, "usr/bin/")).toHaveLength(1);
    expect(entriesOf(lines, "usr/bin/x")).toHaveLength(2);
    for (const keys of pax.values()) expect(keys).toEqual([PAX_LOCATION, PAX_SOURCE]);
    expect(pax.get("usr/bin/")).toBeDefined();
    // A container's root is its image's alone: the parents it leaves out are all made for it.
    expect(entriesOf(lines, "containers/onboot/000-c/lower/usr/")).toEqual([
      "drwxr-xr-x 0/0 0 1970-01-01 00:00:00 containers/onboot/000-c/lower/usr/",
    ]);
  });
});
