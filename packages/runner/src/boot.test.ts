import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { detectBoot } from "./boot.js";
import { readIsoBoot } from "./el-torito.js";
import { detectImageFormat } from "./image-format.js";
import { findTool } from "./tools.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-boot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const p = (name: string) => join(dir, name);
const qemuImg = () => findTool("qemu-img");

/** An ISO made by xorriso with the given El Torito entries (the boot images are dummies). */
function iso(name: string, entries: ("bios" | "efi")[]): string {
  const tree = p(`${name}.tree`);
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, "bios.img"), Buffer.alloc(2048, 1));
  writeFileSync(join(tree, "efi.img"), Buffer.alloc(64 * 1024, 2));
  writeFileSync(join(tree, "readme"), "hello\n");
  const args = ["-as", "mkisofs", "-quiet", "-o", p(name)];
  entries.forEach((e, i) => {
    if (i > 0) args.push("-eltorito-alt-boot");
    if (e === "bios") args.push("-b", "bios.img", "-no-emul-boot", "-boot-load-size", "4");
    else args.push("-e", "efi.img", "-no-emul-boot");
  });
  execFileSync("xorriso", [...args, tree], { stdio: "ignore" });
  return p(name);
}

/** A 64 MiB raw disk partitioned by sfdisk with `script`. */
function disk(name: string, script: string): string {
  const path = p(name);
  writeFileSync(path, "");
  execFileSync("truncate", ["-s", "64M", path]);
  execFileSync("sfdisk", ["--quiet", path], { input: script });
  return path;
}

describe("El Torito catalog", () => {
  test.for([
    [["bios"], { bios: true, efi: false }],
    [["efi"], { bios: false, efi: true }],
    [["bios", "efi"], { bios: true, efi: true }],
  ] as const)("%j", async ([entries, expected]) => {
    expect(await readIsoBoot(iso(`cat-${entries.join("-")}.iso`, [...entries]))).toEqual(expected);
  });

  test("an ISO without a boot record, and a file that is not an ISO", async () => {
    expect(await readIsoBoot(iso("plain.iso", []))).toBeUndefined();
    writeFileSync(p("zeros.bin"), Buffer.alloc(128 * 1024));
    expect(await readIsoBoot(p("zeros.bin"))).toBeUndefined();
  });
});

describe("detectBoot: ISOs", () => {
  test("a BIOS-only ISO boots with BIOS", async () => {
    expect(await detectBoot(iso("b.iso", ["bios"]))).toMatchObject({
      kind: "iso",
      uefi: false,
      prefix: p("b"),
    });
  });

  test("an EFI-only ISO boots with UEFI, whatever its name", async () => {
    const b = await detectBoot(iso("appliance.iso", ["efi"]));
    expect(b).toMatchObject({ kind: "iso", uefi: true });
    expect(b.firmwareReason).toMatch(/only an EFI entry/);
  });

  test("a hybrid ISO boots with BIOS unless --uefi", async () => {
    const both = iso("both.iso", ["bios", "efi"]);
    expect(await detectBoot(both)).toMatchObject({ uefi: false });
    expect(await detectBoot(both, { firmware: "uefi" })).toMatchObject({
      uefi: true,
      firmwareReason: "--uefi",
    });
  });

  test("--bios overrides an EFI-only catalog", async () => {
    expect(await detectBoot(iso("e2.iso", ["efi"]), { firmware: "bios" })).toMatchObject({ uefi: false });
  });

  test("without a catalog, LinuxKit's -efi.iso name decides", async () => {
    expect(await detectBoot(iso("x-efi.iso", []))).toMatchObject({
      kind: "iso",
      uefi: true,
      prefix: p("x-efi"),
    });
    expect(await detectBoot(iso("x.iso", []))).toMatchObject({ kind: "iso", uefi: false });
  });

  test("an ISO is recognised by content even when named .img", async () => {
    expect(await detectBoot(iso("cd.img", ["efi"]))).toMatchObject({ kind: "iso", uefi: true });
  });
});

describe("detectBoot: disk images", () => {
  test("GPT with an EFI system partition boots with UEFI", async () => {
    const b = await detectBoot(disk("gpt-esp.img", "label: gpt\n,32M,U\n,,L\n"));
    expect(b).toMatchObject({ kind: "disk", format: "raw", uefi: true, prefix: p("gpt-esp") });
    expect(b.firmwareReason).toMatch(/EFI system partition \(gpt\)/);
  });

  test("GPT with an ESP and a BIOS boot partition boots with BIOS", async () => {
    expect(
      await detectBoot(
        disk("gpt-both.img", "label: gpt\n,1M,21686148-6449-6E6F-744E-656564454649\n,32M,U\n"),
      ),
    ).toMatchObject({ uefi: false });
  });

  test("MBR with an ESP (type ef) and no boot code boots with UEFI; with boot code, BIOS", async () => {
    const path = disk("mbr-esp.img", "label: dos\n,32M,ef\n");
    expect(await detectBoot(path)).toMatchObject({ uefi: true });
    const fh = await open(path, "r+");
    await fh.write(Buffer.from([0xeb, 0x63, 0x90]), 0, 3, 0);
    await fh.close();
    expect(await detectBoot(path)).toMatchObject({
      uefi: false,
      firmwareReason: expect.stringMatching(/either way/),
    });
  });

  test("a Linux-only GPT disk, and a blank disk, boot with BIOS", async () => {
    expect(await detectBoot(disk("gpt-linux.img", "label: gpt\n,,L\n"))).toMatchObject({ uefi: false });
    writeFileSync(p("blank.img"), Buffer.alloc(1 << 20));
    expect(await detectBoot(p("blank.img"))).toMatchObject({
      kind: "disk",
      uefi: false,
      firmwareReason: "the disk has no EFI system partition",
    });
  });

  test("a qcow2 image's partition table is read through qemu-img", async () => {
    const raw = disk("q-src.img", "label: gpt\n,32M,U\n");
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, p("q.qcow2")]);
    expect(await detectImageFormat(p("q.qcow2"))).toBe("qcow2");
    expect(await detectBoot(p("q.qcow2"), { qemuImg })).toMatchObject({
      kind: "disk",
      format: "qcow2",
      uefi: true,
      prefix: p("q"),
    });
    execFileSync("qemu-img", ["convert", "-f", "raw", "-O", "vmdk", raw, p("q.vmdk")]);
    expect(await detectBoot(p("q.vmdk"), { qemuImg })).toMatchObject({ format: "vmdk", uefi: true });
  });

  test("formats come from content, not names", async () => {
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", p("named-raw.img"), "16M"]);
    expect(await detectImageFormat(p("named-raw.img"))).toBe("qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "vpc", p("v.vhd"), "16M"]);
    expect(await detectImageFormat(p("v.vhd"))).toBe("vpc");
    execFileSync("qemu-img", ["create", "-q", "-f", "vhdx", p("v.vhdx"), "16M"]);
    expect(await detectImageFormat(p("v.vhdx"))).toBe("vhdx");
    expect(await detectImageFormat(p("blank.img"))).toBe("raw");
  });
});

describe("detectBoot: kernel prefixes", () => {
  function prefix(name: string, files: string[]): string {
    for (const f of files) writeFileSync(p(`${name}-${f}`), f === "cmdline" ? "console=ttyS0 quiet\n" : "x");
    return p(name);
  }

  test("PREFIX-kernel + PREFIX-initrd.img + PREFIX-cmdline", async () => {
    const path = prefix("k", ["kernel", "initrd.img", "cmdline"]);
    expect(await detectBoot(path)).toEqual({
      kind: "kernel",
      kernel: `${path}-kernel`,
      initrd: `${path}-initrd.img`,
      cmdline: "console=ttyS0 quiet",
      prefix: path,
      uefi: false,
      firmwareReason: "direct kernel boot",
    });
  });

  test("PREFIX-squashfs.img makes it a squashfs boot", async () => {
    const path = prefix("sq", ["kernel", "squashfs.img", "cmdline"]);
    expect(await detectBoot(path)).toMatchObject({ kind: "squashfs", squashfs: `${path}-squashfs.img` });
  });

  test("the 2017 name PREFIX-bzImage is a kernel too", async () => {
    const path = prefix("old", ["bzImage", "initrd.img", "cmdline"]);
    expect(await detectBoot(path)).toMatchObject({ kind: "kernel", kernel: `${path}-bzImage` });
  });

  test("a missing cmdline is a notice and an empty command line", async () => {
    const notes: string[] = [];
    const path = prefix("nocmd", ["kernel", "initrd.img"]);
    expect(await detectBoot(path, { onNotice: (m) => notes.push(m) })).toMatchObject({ cmdline: "" });
    expect(notes[0]).toMatch(/nocmd-cmdline not found/);
  });

  test("a kernel without its initrd, and nothing at all, say what is missing", async () => {
    const path = prefix("half", ["kernel", "cmdline"]);
    await expect(detectBoot(path)).rejects.toThrow(/half-initrd.img: no such file/);
    await expect(detectBoot(p("nothing"))).rejects.toThrow(/no such file, and no .*nothing-kernel either/);
    await expect(detectBoot(p("nothing.iso"))).rejects.toThrow(/no such file/);
  });
});
