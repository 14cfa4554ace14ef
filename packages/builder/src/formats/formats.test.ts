// The disk and ISO writers with the real tools (no boots here: see boot.slow.test.ts). A stand-in kernel
// is enough to check layouts, contents and that every output is the same bytes on every build.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KilnError } from "@kiln/spec";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applianceTar,
  busyboxInitrd,
  type FixtureContextOptions,
  fixtureContext,
  markerInit,
} from "../testing/boot-fixture.js";
import { NativeToolRunner } from "../tools/native.js";
import { DATA_FILES } from "../tools/packages.js";
import { isoBiosFormat } from "./iso-bios.js";
import { isoEfiFormat, isoEfiInitrdFormat } from "./iso-efi.js";
import { kernelSquashfsFormat } from "./kernel-squashfs.js";
import { qcow2BiosFormat, qcow2EfiFormat } from "./qcow2.js";
import { rawBiosFormat } from "./raw-bios.js";
import { rawEfiFormat } from "./raw-efi.js";
import type { FormatWriter } from "./types.js";
import { vhdFormat } from "./vhd.js";
import { vmdkFormat } from "./vmdk.js";

const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const CMDLINE = 'console=ttyS0 kiln.q="a b" kiln.d=$x;y';
const WRITERS: FormatWriter[] = [
  rawBiosFormat,
  rawEfiFormat,
  isoBiosFormat,
  isoEfiFormat,
  isoEfiInitrdFormat,
  qcow2BiosFormat,
  qcow2EfiFormat,
  vhdFormat,
  vmdkFormat,
  kernelSquashfsFormat,
];
const tools = new NativeToolRunner();
const mtoolsEnv = { MTOOLS_SKIP_CHECK: "1" };

let root: string;
const fx = { kernel: "", initrd: "", tar: "" };
/** Round one: every format's outputs by format name, and when the round started. */
const first = new Map<string, string[]>();
let firstStarted = 0;

async function build(
  w: FormatWriter,
  outDir: string,
  o: Partial<FixtureContextOptions> = {},
): Promise<string[]> {
  const workDir = await mkdtemp(join(root, "work-"));
  await mkdir(outDir, { recursive: true });
  try {
    const finals = w.outputs("appliance").map((n) => join(outDir, n));
    // Temp names beside the final ones, as the build passes them: the bytes must not depend on them.
    const temps = finals.map((f) =>
      join(dirname(f), `.tmp-${basename(f)}-${randomBytes(4).toString("hex")}`),
    );
    const ctx = fixtureContext({
      name: "appliance",
      workDir,
      kernel: fx.kernel,
      initrd: fx.initrd,
      rootfsTar: fx.tar,
      cmdline: CMDLINE,
      tools,
      size: SIZE,
      ...o,
    });
    await w.write(ctx, temps);
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

async function out(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return (await execa(cmd, args, { env: { ...mtoolsEnv, ...env } })).stdout;
}

function output(format: string, i = 0): string {
  return first.get(format)![i]!;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-formats-"));
  fx.kernel = join(root, "vmlinuz");
  fx.initrd = join(root, "initrd.img");
  fx.tar = join(root, "rootfs.tar");
  // Not a kernel, but the writers only copy it: any bytes of a kernel's size do.
  await writeFile(fx.kernel, Buffer.alloc(3 * MIB, "kiln stand-in kernel "));
  await busyboxInitrd(fx.initrd, markerInit);
  await applianceTar(fx.tar, [
    { name: "boot", type: "directory" },
    { name: "boot/kernel", content: "kernel" },
    { name: "boot/cmdline", content: CMDLINE },
    { name: "etc", type: "directory" },
    {
      name: "etc/kiln-marker",
      content: "squashed\n",
      uid: 1000,
      gid: 1001,
      mode: 0o640,
      mtime: new Date("2020-01-02T03:04:05Z"),
    },
    { name: "etc/link", type: "symlink", linkname: "kiln-marker" },
  ]);
  firstStarted = Date.now();
  for (const w of WRITERS) first.set(w.name, await build(w, join(root, "one")));
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("every format", () => {
  it("writes the same bytes on a second build from copies of the inputs", async () => {
    // Copies have other paths and inode numbers, and by now the clock has moved on: neither may show.
    const copies = join(root, "copies");
    await mkdir(copies);
    const inputs = { kernel: join(copies, "k"), initrd: join(copies, "i"), rootfsTar: join(copies, "t") };
    await copyFile(fx.kernel, inputs.kernel);
    await copyFile(fx.initrd, inputs.initrd);
    await copyFile(fx.tar, inputs.rootfsTar);
    await sleep(Math.max(0, 1100 - (Date.now() - firstStarted)));
    for (const w of WRITERS) {
      const again = await build(w, join(root, "two"), inputs);
      for (const [i, path] of again.entries()) {
        expect(await sha256(path), `${w.name}: ${basename(path)}`).toBe(await sha256(output(w.name, i)));
      }
    }
  }, 120_000);
});

describe("raw-bios", () => {
  it("is an MBR disk of --size with one active FAT partition from 1 MiB to the end", async () => {
    const disk = output("raw-bios");
    expect(basename(disk)).toBe("appliance-bios.img");
    const table = JSON.parse(await out("sfdisk", ["-J", disk])).partitiontable;
    expect(table.label).toBe("dos");
    expect(table.id).toMatch(/^0x[0-9a-f]{8}$/);
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0]).toMatchObject({
      start: 2048,
      size: SIZE / 512 - 2048,
      type: "e",
      bootable: true,
    });
    const mbr = await readFile(disk).then((b) => b.subarray(0, 440));
    expect(mbr.equals((await readFile(DATA_FILES.syslinuxMbr)).subarray(0, 440))).toBe(true);
  });

  it("holds the kernel, the initrd, syslinux and its config, dated with the build's time stamp", async () => {
    const fat = `${output("raw-bios")}@@1M`;
    const listing = await out("mdir", ["-a", "-i", fat, "::/"]);
    for (const name of ["kernel", "initrd   img", "syslinux cfg", "ldlinux  sys", "ldlinux  c32"]) {
      expect(listing).toContain(name);
    }
    expect(listing).toMatch(/kernel\s+3145728 2017-04-18 +16:30/);
    const cfg = await out("mtype", ["-i", fat, "::/syslinux.cfg"]);
    expect(cfg).toContain("KERNEL /kernel\n    INITRD /initrd.img\n");
    expect(cfg).toContain(`    APPEND ${CMDLINE}`);
    expect(await out("mtype", ["-i", fat, "::/kernel"]).then((k) => k.length)).toBe(3 * MIB);
  });

  it("uses FAT32 when the partition is large enough", async () => {
    const [disk] = await build(rawBiosFormat, join(root, "big"), { size: 600 * MIB });
    const table = JSON.parse(await out("sfdisk", ["-J", disk!])).partitiontable;
    expect(table.partitions[0].type).toBe("c");
    expect(await out("minfo", ["-i", `${disk}@@1M`, "::"])).toMatch(/disk type="FAT32/);
  });
});

describe("raw-efi", () => {
  it("is a GPT disk with one EFI System Partition holding GRUB, its config, the kernel and the initrd", async () => {
    const disk = output("raw-efi");
    const table = JSON.parse(await out("sfdisk", ["-J", disk])).partitiontable;
    expect(table.label).toBe("gpt");
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0]).toMatchObject({ start: 2048, type: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" });
    expect(table.partitions[0].uuid).not.toBe(table.id);
    const fat = `${disk}@@1M`;
    const boot = await out("mdir", ["-b", "-i", fat, "::/EFI/BOOT"]);
    expect(boot.split("\n").sort()).toEqual(["::/EFI/BOOT/BOOTX64.EFI", "::/EFI/BOOT/grub.cfg"]);
    const top = await out("mdir", ["-b", "-a", "-i", fat, "::/"]);
    expect(top.split("\n")).toEqual([
      "::/EFI/",
      "::/kernel",
      "::/initrd.img",
      expect.stringMatching(/^::\/\.kiln-[0-9a-f]{16}$/),
    ]);
    const grub = await out("mtype", ["-i", fat, "::/EFI/BOOT/grub.cfg"]);
    // One GRUB word per kernel argument, quoted where GRUB would otherwise expand or split it.
    expect(grub).toContain(
      "\tlinux /kernel console=ttyS0 'kiln.q=a b' 'kiln.d=$x;y' text\n\tinitrd /initrd.img\n",
    );
  });
});

describe("iso-bios", () => {
  it("is an isohybrid ISO with isolinux, the kernel and the initrd", async () => {
    const iso = output("iso-bios");
    expect(basename(iso)).toBe("appliance.iso");
    const files = await out("xorriso", ["-indev", iso, "-find", "/", "-type", "f"]);
    expect(files.split("\n").sort()).toEqual([
      "'/boot/initrd.img'",
      "'/boot/kernel'",
      "'/isolinux/isolinux.bin'",
      "'/isolinux/isolinux.cfg'",
      "'/isolinux/ldlinux.c32'",
    ]);
    const head = await readFile(iso).then((b) => b.subarray(0, 512));
    expect(head.readUInt16LE(510)).toBe(0xaa55);
    const pvd = await readFile(iso).then((b) => b.subarray(16 * 2048, 17 * 2048));
    expect(pvd.toString("latin1", 40, 48)).toBe("LinuxKit");
    // The volume's creation date is the build's: YYYYMMDDhhmmsscc at offset 813.
    expect(pvd.toString("latin1", 813, 829)).toBe("2017041816300000");
    const cfgDir = await mkdtemp(join(root, "iso-"));
    await execa("xorriso", [
      "-osirrox",
      "on",
      "-indev",
      iso,
      "-extract",
      "/isolinux/isolinux.cfg",
      join(cfgDir, "c"),
    ]);
    expect(await readFile(join(cfgDir, "c"), "utf8")).toContain(
      "KERNEL /boot/kernel\n    INITRD /boot/initrd.img\n",
    );
  });
});

describe("iso-efi and iso-efi-initrd", () => {
  it("are the same image under LinuxKit's two names", async () => {
    expect(basename(output("iso-efi"))).toBe("appliance-efi.iso");
    expect(basename(output("iso-efi-initrd"))).toBe("appliance-efi-initrd.iso");
    expect(await sha256(output("iso-efi"))).toBe(await sha256(output("iso-efi-initrd")));
  });

  it("boots GRUB from a FAT El Torito image and keeps the kernel, initrd and grub.cfg on the ISO", async () => {
    const iso = output("iso-efi");
    const report = await out("xorriso", ["-indev", iso, "-report_el_torito", "plain"]);
    expect(report).toMatch(/El Torito boot img :\s+1\s+UEFI/);
    const files = await out("xorriso", ["-indev", iso, "-find", "/", "-type", "f"]);
    const names = files.split("\n").sort();
    expect(names).toHaveLength(4);
    expect(names.slice(1)).toEqual(["'/EFI/BOOT/grub.cfg'", "'/initrd.img'", "'/kernel'"]);
    expect(names[0]).toMatch(/^'\/\.kiln-[0-9a-f]{16}'$/);
  });
});

describe("qcow2, vhd and vmdk", () => {
  it.each([
    ["qcow2-bios", "raw-bios", "qcow2"],
    ["vhd", "raw-bios", "vpc"],
    ["vmdk", "raw-bios", "vmdk"],
    ["qcow2-efi", "raw-efi", "qcow2"],
  ])("%s holds exactly the %s disk", async (format, raw, driver) => {
    const r = await execa("qemu-img", ["compare", "-f", "raw", "-F", driver, output(raw), output(format)], {
      reject: false,
    });
    expect(r.stdout).toContain("Images are identical");
    const info = JSON.parse(await out("qemu-img", ["info", "--output=json", "-f", driver, output(format)]));
    expect(info["virtual-size"]).toBe(SIZE);
  });

  it("vhd's footer has the build's time, an id and a valid checksum", async () => {
    const vhd = await readFile(output("vhd"));
    const footer = vhd.subarray(vhd.length - 512);
    expect(footer.toString("latin1", 0, 8)).toBe("conectix");
    expect(footer.readUInt32BE(24)).toBe(Date.UTC(2017, 3, 18, 16, 30) / 1000 - Date.UTC(2000, 0, 1) / 1000);
    expect(footer.subarray(68, 84).equals(Buffer.alloc(16))).toBe(false);
    let sum = 0;
    for (const [i, b] of footer.entries()) if (i < 64 || i >= 68) sum += b;
    expect(footer.readUInt32BE(64)).toBe(~sum >>> 0);
  });

  it("vmdk's descriptor names the final file and has the content's CID", async () => {
    const head = await readFile(output("vmdk")).then((b) => b.subarray(512, 1536).toString("latin1"));
    expect(head).toContain('SPARSE "appliance.vmdk"');
    expect(head).toMatch(/\nCID=[0-9a-f]{8}\n/);
    expect(head).toContain('ddb.adapterType = "lsilogic"');
  });
});

describe("kernel+squashfs", () => {
  it("writes the kernel, the cmdline and the root filesystem without boot/, owners and times kept", async () => {
    const [kernel, cmdline, squashfs] = first.get("kernel+squashfs")!;
    expect(first.get("kernel+squashfs")!.map((p) => basename(p))).toEqual([
      "appliance-kernel",
      "appliance-cmdline",
      "appliance-squashfs.img",
    ]);
    expect(await sha256(kernel!)).toBe(await sha256(fx.kernel));
    expect(await readFile(cmdline!, "utf8")).toBe(CMDLINE);
    const listing = await out("unsquashfs", ["-lln", "-d", "", squashfs!]);
    const lines = listing.split("\n").filter((l) => /^[-dl]/.test(l));
    expect(lines).toHaveLength(4);
    // The root directory (not in the tar) gets the build's time stamp or the newest file's, the later.
    expect(lines[0]).toMatch(/^drwxr-xr-x 0\/0 .* 2020-01-02 03:04 $/);
    expect(listing).toMatch(/-rw-r----- 1000\/1001 +9 2020-01-02 03:04 \/etc\/kiln-marker/);
    expect(listing).toMatch(/lrwxrwxrwx 0\/0 .* \/etc\/link -> kiln-marker/);
    expect(listing).not.toContain("/boot");
  });
});

describe("the build's time stamp", () => {
  it("dates the files inside the disks and ISOs", async () => {
    const mtime = new Date("2020-02-03T04:05:06Z");
    const [disk] = await build(rawBiosFormat, join(root, "dated"), { mtime });
    expect(await out("mdir", ["-i", `${disk}@@1M`, "::/"])).toMatch(/kernel\s+3145728 2020-02-03 +4:05/);
    const [iso] = await build(isoBiosFormat, join(root, "dated"), { mtime });
    const pvd = await readFile(iso!).then((b) => b.subarray(16 * 2048, 17 * 2048));
    expect(pvd.toString("latin1", 813, 829)).toBe("2020020304050600");
    expect(await out("xorriso", ["-indev", iso!, "-lsdl", "/boot/kernel"])).toContain("Feb  3  2020");
    expect(await sha256(disk!)).not.toBe(await sha256(output("raw-bios")));
  });
});

describe("errors", () => {
  it("a --size too small for the kernel and initrd says what size to use", async () => {
    const e = await build(rawEfiFormat, join(root, "small"), { size: 4 * MIB }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).message).toMatch(
      /^--size 4M is too small for raw-efi: the kernel and initrd need a \d+M disk$/,
    );
    expect((e as KilnError).hint).toMatch(/^use --size \d+M or more$/);
  });

  it("the x86 boot loaders refuse other architectures", async () => {
    const workDir = await mkdtemp(join(root, "work-"));
    const ctx = {
      ...fixtureContext({ workDir, kernel: fx.kernel, initrd: fx.initrd, cmdline: "", tools }),
      arch: "arm64",
    };
    await expect(isoEfiFormat.write(ctx, [join(workDir, "x.iso")])).rejects.toThrow(
      "--format iso-efi is only available for amd64 in kiln, not arm64",
    );
  });

  it("an aborted build stops at its next tool", async () => {
    const abort = new AbortController();
    abort.abort(new Error("interrupted"));
    await expect(build(rawBiosFormat, join(root, "aborted"), { signal: abort.signal })).rejects.toThrow(
      "interrupted",
    );
  });
});
