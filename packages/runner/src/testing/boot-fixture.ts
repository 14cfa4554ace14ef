// A tiny bootable system for the runner's tests, made before (and independently of) kiln's own base
// images: Debian's kernel (scripts/test-kernel.sh), busybox-static and a shell /init (init.sh). The same
// initrd is packed as LinuxKit's kernel+initrd output, a BIOS ISO (isolinux) and an EFI ISO (GRUB).
import { execFile } from "node:child_process";
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const INIT = fileURLToPath(new URL("./init.sh", import.meta.url));
/** LinuxKit's fixed time, 2017-04-18T16:30:00Z, for reproducible fixtures. */
const EPOCH = "1492533000";
const ENV = { ...process.env, SOURCE_DATE_EPOCH: EPOCH };

/** Every line the fixture prints for tests starts with this. */
export const MARKER = "KILN-FIXTURE:";
/** The command line of the fixture's ISOs, and the base of its kernel+initrd prefixes. */
export const FIXTURE_CMDLINE = "console=ttyS0 panic=-1 quiet";

export interface TestKernel {
  dir: string;
  vmlinuz: string;
  modulesLoad: string;
}

/** Debian's kernel and a module subset, fetched once into $KILN_TEST_CACHE/kernel (default /tmp/kiln-test). */
export async function testKernel(): Promise<TestKernel> {
  const dir = join(process.env.KILN_TEST_CACHE ?? "/tmp/kiln-test", "kernel");
  await mkdir(dirname(dir), { recursive: true });
  await run("bash", [join(REPO, "scripts/test-kernel.sh"), dir], { maxBuffer: 1 << 24 });
  return { dir, vmlinuz: join(dir, "vmlinuz"), modulesLoad: join(dir, "modules.load") };
}

export interface BootFixture {
  dir: string;
  kernel: string;
  initrd: string;
  /** Write DIR/NAME-kernel, -initrd.img and -cmdline (the fixture's command line plus `extra`). */
  prefix(name: string, extra?: string): Promise<string>;
  /** A BIOS-bootable ISO (isolinux), without an EFI entry. */
  biosIso(): Promise<string>;
  /** An EFI-only ISO (GRUB in an El Torito EFI image) named NAME.iso, so only its catalog says EFI. */
  efiIso(name?: string): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** busybox-static's binary: a dynamically linked busybox names its ELF interpreter near the start. */
async function busybox(): Promise<string> {
  for (const p of ["/bin/busybox", "/usr/bin/busybox"]) {
    const head = await readFile(p).then(
      (b) => b.subarray(0, 4096).toString("latin1"),
      () => undefined,
    );
    if (head !== undefined && !head.includes("/ld-linux")) return p;
  }
  throw new Error("boot fixture: busybox-static is not installed (apt-get install busybox-static)");
}

/** The initrd: busybox, the kernel's module subset, /init and an acpid handler for the power button. */
async function makeInitrd(kernel: TestKernel, out: string): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "kiln-initrd-"));
  try {
    await mkdir(join(root, "bin"), { recursive: true });
    await mkdir(join(root, "etc/acpi/PWRF"), { recursive: true });
    await copyFile(await busybox(), join(root, "bin/busybox"));
    await cp(join(kernel.dir, "lib"), join(root, "lib"), { recursive: true });
    await copyFile(kernel.modulesLoad, join(root, "etc/modules.load"));
    await copyFile(INIT, join(root, "init"));
    await writeFile(
      join(root, "etc/acpi/PWRF/00000080"),
      '#!/bin/sh\necho "KILN-FIXTURE: power button" > /dev/console\npoweroff -f\n',
    );
    await chmod(join(root, "init"), 0o755);
    await chmod(join(root, "etc/acpi/PWRF/00000080"), 0o755);
    await run("find", [".", "-exec", "touch", "-h", "-d", `@${EPOCH}`, "{}", "+"], { cwd: root });
    const { stdout } = await run(
      "sh",
      ["-c", "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet -R 0:0"],
      { cwd: root, encoding: "buffer", maxBuffer: 1 << 28 },
    );
    await writeFile(out, gzipSync(stdout, { level: 6 }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Build the fixture in a new temp directory (or `dir`). */
export async function makeBootFixture(dir?: string): Promise<BootFixture> {
  const kernel = await testKernel();
  const base = dir ?? (await mkdtemp(join(tmpdir(), "kiln-boot-fixture-")));
  await mkdir(base, { recursive: true });
  const initrd = join(base, "initrd.img");
  await makeInitrd(kernel, initrd);
  const vmlinuz = join(base, "vmlinuz");
  await copyFile(kernel.vmlinuz, vmlinuz);

  return {
    dir: base,
    kernel: vmlinuz,
    initrd,
    async prefix(name, extra) {
      const prefix = join(base, name);
      await copyFile(vmlinuz, `${prefix}-kernel`);
      await copyFile(initrd, `${prefix}-initrd.img`);
      await writeFile(`${prefix}-cmdline`, `${FIXTURE_CMDLINE}${extra ? ` ${extra}` : ""}\n`);
      return prefix;
    },
    async biosIso() {
      const tree = join(base, "bios-tree");
      await mkdir(join(tree, "isolinux"), { recursive: true });
      await copyFile("/usr/lib/ISOLINUX/isolinux.bin", join(tree, "isolinux/isolinux.bin"));
      await copyFile("/usr/lib/syslinux/modules/bios/ldlinux.c32", join(tree, "isolinux/ldlinux.c32"));
      await writeFile(
        join(tree, "isolinux/isolinux.cfg"),
        `SERIAL 0 115200\nDEFAULT kiln\nLABEL kiln\n  KERNEL /kernel\n  APPEND initrd=/initrd.img ${FIXTURE_CMDLINE}\n`,
      );
      await copyFile(vmlinuz, join(tree, "kernel"));
      await copyFile(initrd, join(tree, "initrd.img"));
      const iso = join(base, "fixture.iso");
      await run(
        "xorriso",
        [
          "-as",
          "mkisofs",
          "-quiet",
          "-o",
          iso,
          "-V",
          "KILNBIOS",
          "-b",
          "isolinux/isolinux.bin",
          "-c",
          "isolinux/boot.cat",
          "-no-emul-boot",
          "-boot-load-size",
          "4",
          "-boot-info-table",
          tree,
        ],
        { env: ENV },
      );
      return iso;
    },
    async efiIso(name = "fixture-uefi.iso") {
      const work = join(base, "efi-work");
      const tree = join(base, "efi-tree");
      await mkdir(work, { recursive: true });
      await mkdir(tree, { recursive: true });
      const cfg = join(work, "grub.cfg");
      await writeFile(
        cfg,
        [
          "set timeout=0",
          "serial --unit=0 --speed=115200",
          "terminal_output serial",
          "search --no-floppy --file --set=root /kernel",
          `linux /kernel ${FIXTURE_CMDLINE}`,
          "initrd /initrd.img",
          "boot",
          "",
        ].join("\n"),
      );
      const efi = join(work, "BOOTX64.EFI");
      const modules =
        "normal linux search search_fs_file iso9660 serial terminal configfile echo test part_gpt part_msdos";
      await run(
        "grub-mkstandalone",
        [
          "-O",
          "x86_64-efi",
          `--install-modules=${modules}`,
          `--modules=${modules}`,
          "--locales=",
          "--themes=",
          "--fonts=",
          "-o",
          efi,
          `boot/grub/grub.cfg=${cfg}`,
        ],
        { env: ENV },
      );
      const fat = join(tree, "efiboot.img");
      await writeFile(fat, "");
      await truncate(fat, 4 << 20);
      await run("mkfs.vfat", ["--invariant", "-i", "4b494c4e", "-n", "EFIBOOT", fat]);
      await run("mmd", ["-i", fat, "::/EFI", "::/EFI/BOOT"], { env: ENV });
      await run("mcopy", ["-i", fat, efi, "::/EFI/BOOT/BOOTX64.EFI"], { env: ENV });
      await copyFile(vmlinuz, join(tree, "kernel"));
      await copyFile(initrd, join(tree, "initrd.img"));
      const iso = join(base, name);
      await run(
        "xorriso",
        ["-as", "mkisofs", "-quiet", "-o", iso, "-V", "KILNEFI", "-e", "efiboot.img", "-no-emul-boot", tree],
        { env: ENV },
      );
      return iso;
    },
    async [Symbol.asyncDispose]() {
      if (dir === undefined) await rm(base, { recursive: true, force: true });
    },
  };
}

/** The fixture's lines (MARKER stripped) from a console text. */
export function fixtureLines(consoleText: string): string[] {
  return consoleText
    .split(/\r?\n/)
    .filter((l) => l.includes(MARKER))
    .map((l) => l.slice(l.indexOf(MARKER) + MARKER.length).trim());
}
