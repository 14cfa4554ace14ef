// Every bootable format, built from Debian's kernel and a busybox initrd, boots under QEMU (TCG) with the
// firmware and drive type it is made for, and reaches /init with the command line as written. kernel+squashfs
// is mounted by the same kernel. Also: every format gives the same bytes twice at the default --size.
// Sequential: the machine has two cores.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applianceTar,
  BOOT_MARKER,
  busyboxInitrd,
  fixtureContext,
  testKernel,
} from "../testing/boot-fixture.js";
import { type BootDrive, bootImage } from "../testing/qemu-boot.js";
import { NativeToolRunner } from "../tools/native.js";
import { isoBiosFormat } from "./iso-bios.js";
import { isoEfiFormat, isoEfiInitrdFormat } from "./iso-efi.js";
import { kernelSquashfsFormat } from "./kernel-squashfs.js";
import { qcow2BiosFormat, qcow2EfiFormat } from "./qcow2.js";
import { rawBiosFormat } from "./raw-bios.js";
import { rawEfiFormat } from "./raw-efi.js";
import type { FormatWriter } from "./types.js";
import { vhdFormat } from "./vhd.js";
import { vmdkFormat } from "./vmdk.js";

// Unknown parameters without a dot reach /init as environment variables, as the kernel parsed them.
const CMDLINE = 'console=ttyS0 quiet panic=-1 kilnq="a b" kilnd=$x;y';
const WRITERS: FormatWriter[] = [
  isoBiosFormat,
  isoEfiFormat,
  isoEfiInitrdFormat,
  rawBiosFormat,
  rawEfiFormat,
  qcow2BiosFormat,
  qcow2EfiFormat,
  vhdFormat,
  vmdkFormat,
  kernelSquashfsFormat,
];
const tools = new NativeToolRunner();
let root: string;
const inputs = { kernel: "", initrd: "", rootfsTar: "" };
const outputs = new Map<string, string[]>();

const init = [
  "/bin/busybox mkdir -p /proc",
  "/bin/busybox mount -t proc proc /proc",
  'echo "cmdline=[$(/bin/busybox cat /proc/cmdline)]"',
  'echo "kilnq=[$kilnq] kilnd=[$kilnd]"',
  `/bin/busybox echo ${BOOT_MARKER}`,
  "/bin/busybox poweroff -f",
].join("\n");

async function build(w: FormatWriter, dir: string, from = inputs): Promise<string[]> {
  const workDir = await mkdtemp(join(root, "work-"));
  await mkdir(dir, { recursive: true });
  try {
    const finals = w.outputs("kiln").map((n) => join(dir, n));
    const temps = finals.map((f) => `${f}.tmp`);
    await w.write(fixtureContext({ name: "kiln", workDir, ...from, cmdline: CMDLINE, tools }), temps);
    for (const [i, t] of temps.entries()) await rename(t, finals[i]!);
    return finals;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

async function expectBoot(firmware: "bios" | "efi", drive: BootDrive): Promise<string> {
  const r = await bootImage({ firmware, drive, timeoutMs: 420_000 });
  const tail = r.console.slice(-3000);
  expect(r.console, `no marker after ${r.ms} ms; console tail:\n${tail}`).toContain(BOOT_MARKER);
  const cmdline = /cmdline=\[(.*)\]/.exec(r.console)?.[1];
  // Whatever the boot loader, the kernel hands init the parameters as the YAML wrote them.
  expect(r.console).toContain("kilnq=[a b] kilnd=[$x;y]");
  // syslinux passes the text through (adding BOOT_IMAGE= and initrd=); GRUB re-quotes a word with a
  // space as a whole, which the kernel reads the same way, and LinuxKit's GRUB configs add `text`.
  expect(cmdline).toContain(
    firmware === "bios" ? CMDLINE : 'console=ttyS0 quiet panic=-1 "kilnq=a b" kilnd=$x;y text',
  );
  console.log(
    `${basename(drive.file)} (${firmware}, ${drive.kind}): booted in ${(r.ms / 1000).toFixed(1)} s`,
  );
  return cmdline!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-boot-formats-"));
  inputs.kernel = (await testKernel()).vmlinuz;
  inputs.initrd = join(root, "initrd.img");
  inputs.rootfsTar = join(root, "rootfs.tar");
  await busyboxInitrd(inputs.initrd, init);
  await applianceTar(inputs.rootfsTar, [
    { name: "boot", type: "directory" },
    { name: "boot/kernel", content: "not in the squashfs" },
    { name: "etc", type: "directory" },
    { name: "etc/kiln-marker", content: "squashfs-root-ok\n", uid: 1000, gid: 1000 },
  ]);
  for (const w of WRITERS) {
    const started = Date.now();
    outputs.set(w.name, await build(w, join(root, "one")));
    console.log(`${w.name}: built in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  }
}, 600_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function out(format: string, i = 0): string {
  return outputs.get(format)![i]!;
}

describe("bootable formats under QEMU", () => {
  it("iso-bios boots from a CD with SeaBIOS", async () => {
    await expectBoot("bios", { file: out("iso-bios"), format: "raw", kind: "cdrom" });
  });

  it("iso-bios boots as a hard disk too (isohybrid)", async () => {
    await expectBoot("bios", { file: out("iso-bios"), format: "raw", kind: "virtio" });
  });

  it("iso-efi boots from a CD with OVMF, GRUB adding `text`", async () => {
    const cmdline = await expectBoot("efi", { file: out("iso-efi"), format: "raw", kind: "cdrom" });
    expect(cmdline).toMatch(/ text$/);
  });

  it("iso-efi-initrd boots from a CD with OVMF", async () => {
    await expectBoot("efi", { file: out("iso-efi-initrd"), format: "raw", kind: "cdrom" });
  });

  it("raw-bios boots from a virtio disk with SeaBIOS", async () => {
    await expectBoot("bios", { file: out("raw-bios"), format: "raw", kind: "virtio" });
  });

  it("raw-efi boots from a virtio disk with OVMF", async () => {
    await expectBoot("efi", { file: out("raw-efi"), format: "raw", kind: "virtio" });
  });

  it("qcow2-bios boots as a qcow2 virtio disk with SeaBIOS", async () => {
    await expectBoot("bios", { file: out("qcow2-bios"), format: "qcow2", kind: "virtio" });
  });

  it("qcow2-efi boots as a qcow2 virtio disk with OVMF", async () => {
    await expectBoot("efi", { file: out("qcow2-efi"), format: "qcow2", kind: "virtio" });
  });

  it("vhd boots as an IDE disk (as on Hyper-V) with SeaBIOS", async () => {
    await expectBoot("bios", { file: out("vhd"), format: "vpc", kind: "ide" });
  });

  it("vmdk boots from an LSI SCSI controller (as on VMware) with SeaBIOS", async () => {
    await expectBoot("bios", { file: out("vmdk"), format: "vmdk", kind: "lsi-scsi" });
  });

  it("kernel+squashfs is mounted by the kernel once virtio and squashfs are loaded", async () => {
    // Debian's kernel has both as modules, so this initrd loads them; a kernel with them built in boots
    // the image as root= directly, as LinuxKit's kernels do.
    const kernelDir = (await testKernel()).dir;
    const { readFile } = await import("node:fs/promises");
    const wanted = [
      "virtio_ring",
      "virtio",
      "virtio_pci_modern_dev",
      "virtio_pci_legacy_dev",
      "virtio_pci",
      "virtio_blk",
      "squashfs",
    ];
    const load = (await readFile(join(kernelDir, "modules.load"), "utf8"))
      .split("\n")
      .filter((p) => wanted.includes(basename(p, ".ko")));
    const extra = Object.fromEntries(load.map((p) => [p, join(kernelDir, p)]));
    const initrd = join(root, "squashfs-initrd.img");
    await busyboxInitrd(
      initrd,
      [
        ...load.map((p) => `/bin/busybox insmod /${p}`),
        "/bin/busybox mkdir -p /dev /mnt",
        "/bin/busybox mount -t devtmpfs dev /dev",
        "/bin/busybox mount -t squashfs -o ro /dev/vda /mnt",
        'echo "marker=[$(/bin/busybox cat /mnt/etc/kiln-marker)] owner=[$(/bin/busybox stat -c %u:%g /mnt/etc/kiln-marker)] boot=[$(/bin/busybox ls /mnt)]"',
        `/bin/busybox echo ${BOOT_MARKER}`,
        "/bin/busybox poweroff -f",
      ].join("\n"),
      extra,
    );
    const [kernel, cmdline, squashfs] = outputs.get("kernel+squashfs")!;
    const { readFile: read } = await import("node:fs/promises");
    const r = await bootImage({
      firmware: "bios",
      drive: { file: squashfs!, format: "raw", kind: "virtio" },
      kernel: { kernel: kernel!, initrd, cmdline: await read(cmdline!, "utf8") },
      timeoutMs: 420_000,
    });
    expect(r.console, r.console.slice(-3000)).toContain(BOOT_MARKER);
    expect(r.console).toContain("marker=[squashfs-root-ok] owner=[1000:1000] boot=[etc]");
  });
});

describe("the default --size", () => {
  it("gives the same bytes for every format on a second build from copies of the inputs", async () => {
    const copies = join(root, "copies");
    await mkdir(copies);
    const again = { kernel: join(copies, "k"), initrd: join(copies, "i"), rootfsTar: join(copies, "t") };
    await copyFile(inputs.kernel, again.kernel);
    await copyFile(inputs.initrd, again.initrd);
    await copyFile(inputs.rootfsTar, again.rootfsTar);
    for (const w of WRITERS) {
      const second = await build(w, join(root, "two"), again);
      for (const [i, path] of second.entries()) {
        expect(await sha256(path), `${w.name}: ${basename(path)}`).toBe(await sha256(out(w.name, i)));
      }
    }
  });
});
