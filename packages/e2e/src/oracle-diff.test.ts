// The oracle's own parts, without LinuxKit: tars made here are read back and compared, so each kind of
// difference the oracle claims to find is shown to be found (and the known ones to be recognised narrowly).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type FlatEntry, writeInitrd } from "@kiln/builder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootTranscript } from "./oracle.js";
import { readInitrd } from "./oracle-cpio.js";
import { compareViews, type Difference } from "./oracle-diff.js";
import { type LayerEntry, layerTar } from "./oracle-fixtures.js";
import { APPLIANCE_PACKAGES, packagesOf, withRegistryRefs } from "./oracle-images.js";
import { KNOWN_DIFFERENCES, triage } from "./oracle-known.js";
import { readTarView, type TarView } from "./oracle-tar.js";
import { REPO_ROOT } from "./paths.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kiln-oracle-unit-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CONFIG = '{\n    "ociVersion": "1.2.1"\n}';
const BASE: LayerEntry[] = [
  { name: "boot", type: "directory" },
  { name: "boot/kernel", content: "KERNEL" },
  { name: "boot/cmdline", content: "console=ttyS0" },
  { name: "etc", type: "directory" },
  { name: "etc/issue", content: "hello\n" },
  { name: "bin", type: "directory" },
  { name: "bin/sh", type: "symlink", linkname: "busybox" },
  { name: "containers", type: "directory" },
  { name: "containers/services", type: "directory" },
  { name: "containers/services/app", type: "directory" },
  { name: "containers/services/app/config.json", content: CONFIG },
  { name: "containers/services/app/runtime.json", content: '{"mounts":[]}' },
  { name: "containers/services/app/lower", type: "directory" },
  { name: "containers/services/app/lower/bin", type: "directory" },
  { name: "containers/services/app/lower/bin/app", content: "app", mode: 0o755 },
];

let n = 0;
async function view(entries: readonly LayerEntry[]): Promise<TarView> {
  const file = join(dir, `t${n++}.tar`);
  await writeFile(file, await layerTar(entries));
  return readTarView(file);
}

function edit(name: string, change: Partial<LayerEntry>): LayerEntry[] {
  return BASE.map((e) => (e.name === name ? { ...e, ...change } : e));
}

async function diff(a: readonly LayerEntry[], b: readonly LayerEntry[]): Promise<Difference[]> {
  return compareViews(await view(a), await view(b));
}

describe("compareViews", () => {
  it("finds nothing between two identical tars", async () => {
    expect(await diff(BASE, BASE)).toEqual([]);
  });

  it("splits a tar into boot files, the root filesystem and bundles", async () => {
    const v = await view(BASE);
    expect(v.kernelSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(v.cmdline).toBe("console=ttyS0");
    // A bundle's own directory entry stays with the root filesystem; what is inside it is the bundle's.
    expect([...v.init.keys()]).toEqual([
      "etc",
      "etc/issue",
      "bin",
      "bin/sh",
      "containers",
      "containers/services",
      "containers/services/app",
    ]);
    const app = v.containers.get("containers/services/app")!;
    expect(app.config?.toString()).toBe(CONFIG);
    expect([...app.tree.keys()]).toEqual([
      "config.json",
      "runtime.json",
      "lower",
      "lower/bin",
      "lower/bin/app",
    ]);
  });

  it.each([
    [
      "a mode",
      edit("containers/services/app/lower/bin/app", { mode: 0o4755 }),
      "containers/services/app",
      "lower/bin/app",
      "mode",
    ],
    ["an owner", edit("etc/issue", { uid: 100 }), "init", "etc/issue", "uid"],
    ["a group", edit("etc/issue", { gid: 7 }), "init", "etc/issue", "gid"],
    ["contents of the same size", edit("etc/issue", { content: "HELLO\n" }), "init", "etc/issue", "sha256"],
    ["a link target", edit("bin/sh", { linkname: "ash" }), "init", "bin/sh", "linkname"],
    ["an xattr", edit("etc/issue", { pax: { "SCHILY.xattr.user.a": "1" } }), "init", "etc/issue", "pax"],
    ["a type", edit("bin/sh", { type: "file", content: "" }), "init", "bin/sh", "type"],
  ])("finds %s that differs", async (_what, changed, part, path, field) => {
    const d = await diff(BASE, changed);
    expect(d.map((x) => [x.part, x.path, x.field])).toContainEqual([part, path, field]);
  });

  it("compares config.json byte for byte and shows the first line that differs", async () => {
    const d = await diff(
      BASE,
      edit("containers/services/app/config.json", { content: CONFIG.replace('"1', '"2') }),
    );
    const config = d.find((x) => x.field === "config.json");
    expect(config).toMatchObject({
      part: "containers/services/app",
      linuxkit: 'line 2: "ociVersion": "1.2.1"',
    });
    expect(config!.kiln).toBe('line 2: "ociVersion": "2.2.1"');
  });

  it("finds an entry one side lacks, the kernel and the cmdline", async () => {
    const fewer = BASE.filter((e) => e.name !== "etc/issue");
    expect(await diff(BASE, fewer)).toContainEqual({
      part: "init",
      path: "etc/issue",
      field: "present",
      linuxkit: "file",
      kiln: "(absent)",
    });
    const d = await diff(BASE, edit("boot/cmdline", { content: "console=tty0" }));
    expect(d).toContainEqual(expect.objectContaining({ part: "boot", path: "cmdline", field: "text" }));
    const k = await diff(BASE, edit("boot/kernel", { content: "KERNEX" }));
    expect(k).toContainEqual(expect.objectContaining({ part: "boot", path: "kernel", field: "sha256" }));
  });

  it("finds entries that come in another order", async () => {
    const swapped = [...BASE];
    [swapped[4], swapped[6]] = [swapped[6]!, swapped[4]!];
    const d = await diff(BASE, swapped);
    expect(d).toContainEqual(
      expect.objectContaining({
        part: "tar",
        field: "order",
        linuxkit: "etc then etc/issue",
        kiln: "etc then bin/sh",
      }),
    );
  });

  it("compares the last copy of a repeated path and which paths repeat", async () => {
    const twice = [...BASE, { name: "etc/issue", content: "later\n" }];
    const d = await diff(BASE, twice);
    expect(d.map((x) => x.field).sort()).toEqual(["repeated", "sha256"]);
  });
});

describe("known differences", () => {
  it("recognise a directory's trailing slash, and nothing else as a name difference", async () => {
    const a = await view(BASE);
    const b = await view(edit("etc", { name: "etc/" }));
    const t = triage(compareViews(a, b), { linuxkit: a, kiln: b });
    expect(t.unexplained).toEqual([]);
    expect([...t.explained.keys()]).toEqual(["directory-slash"]);
  });

  it("take a directory only kiln has for an implicit parent only when LinuxKit has entries below it", async () => {
    const lk = await view(BASE);
    const withParent = await view([
      ...BASE,
      { name: "containers/services/app/lower/srv", type: "directory" },
    ]);
    const t = triage(compareViews(lk, withParent), { linuxkit: lk, kiln: withParent });
    // LinuxKit has nothing below lower/srv: an empty directory kiln made up is not explained.
    expect(t.unexplained.map((d) => d.path)).toEqual(["lower/srv"]);
  });

  it("explain only what they name: a missing file is never explained", async () => {
    const a = await view(BASE);
    const b = await view(BASE.filter((e) => e.name !== "containers/services/app/lower/bin/app"));
    expect(triage(compareViews(a, b), { linuxkit: a, kiln: b }).unexplained).toHaveLength(1);
  });

  it("are each documented in docs/compatibility.md", async () => {
    const doc = await readFile(join(REPO_ROOT, "docs", "compatibility.md"), "utf8");
    for (const k of KNOWN_DIFFERENCES) expect(doc, k.id).toContain(k.doc);
  });
});

describe("readInitrd", () => {
  async function* entries(): AsyncGenerator<FlatEntry> {
    const mtime = new Date("2017-04-18T16:30:00Z");
    yield { entry: { path: "etc", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime, size: 0 } };
    yield {
      entry: { path: "etc/motd", type: "file", mode: 0o640, uid: 1, gid: 2, mtime, size: 3 },
      body: Readable.from([Buffer.from("hi\n")]),
    };
    yield {
      entry: {
        path: "bin/sh",
        type: "symlink",
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime,
        size: 0,
        linkname: "busybox",
      },
    };
  }

  it("reads kiln's gzip'd initrd, after a plain microcode archive as the kernel does", async () => {
    const body = join(dir, "body.img");
    await writeInitrd(entries(), body, "gzip");
    const ucode = join(dir, "ucode.img");
    await writeInitrd(
      (async function* () {
        yield* [];
      })(),
      ucode,
      "none",
    );
    const both = join(dir, "both.img");
    await writeFile(both, Buffer.concat([await readFile(ucode), await readFile(body)]));
    for (const file of [body, both]) {
      const v = await readInitrd(file);
      expect(v.tree.get("etc/motd")).toMatchObject({ type: "file", mode: 0o640, uid: 1, gid: 2, size: 3 });
      expect(v.tree.get("bin/sh")).toMatchObject({ type: "symlink", linkname: "busybox" });
      expect(v.tree.get("etc")?.type).toBe("directory");
    }
    expect((await readInitrd(both)).archives).toBe(2);
  });
});

describe("registry references", () => {
  it("replace every @pkg: image of examples/minio.yml, and refuse one that was not pushed", async () => {
    const yaml = await readFile(join(REPO_ROOT, "examples", "minio.yml"), "utf8");
    const names = packagesOf(yaml);
    expect([...names].sort()).toEqual([...APPLIANCE_PACKAGES].sort());
    const refs = new Map(
      names.map((name) => [
        name,
        { name, ref: `127.0.0.1:5000/kiln/${name}:0123`, digest: "", built: false },
      ]),
    );
    const out = withRegistryRefs(yaml, refs);
    expect(out).not.toMatch(/"@pkg:/);
    expect(out).toContain("image: 127.0.0.1:5000/kiln/minio:0123");
    refs.delete("minio");
    expect(() => withRegistryRefs(yaml, refs)).toThrow(/images\/minio, which was not pushed/);
  });
});

describe("bootTranscript", () => {
  it("keeps init's messages and each container's output apart, without timings or kernel time stamps", () => {
    const console = [
      "[    1.234567] virtio_blk virtio1: [vda] 8388608 512-byte logical blocks",
      "[    2.000000] kiln-init: loaded 45 kernel modules in 1428 ms",
      "kiln-init: system ready in 1606 ms",
      "[000-hello] oracle: hello",
      "[minio] API: http://10.0.2.15:9000",
      "[drm] not a container",
    ].join("\n");
    expect(bootTranscript(console, ["minio"])).toEqual({
      init: ["kiln-init: loaded 45 kernel modules in N ms", "kiln-init: system ready in N ms"],
      containers: { "000-hello": ["oracle: hello"], minio: ["API: http://10.0.2.15:9000"] },
    });
  });
});
