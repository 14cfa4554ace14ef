// Boot an image under QEMU (TCG: this machine has no usable KVM) with SeaBIOS or OVMF, and collect the
// serial console until the guest powers off.

import { spawn } from "node:child_process";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type DriveKind = "cdrom" | "virtio" | "ide" | "lsi-scsi";

export interface BootDrive {
  file: string;
  /** QEMU's image format: raw, qcow2, vpc, vmdk. */
  format: string;
  kind: DriveKind;
}

export interface BootOptions {
  firmware: "bios" | "efi";
  drive: BootDrive;
  /** Direct kernel boot instead of firmware (for kernel+squashfs). */
  kernel?: { kernel: string; initrd: string; cmdline: string };
  timeoutMs?: number;
}

export interface BootResult {
  console: string;
  ms: number;
  exitCode: number | null;
}

const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd";
const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd";

function driveArgs(d: BootDrive): string[] {
  const file = `file=${d.file.replace(/,/g, ",,")},format=${d.format}`;
  switch (d.kind) {
    case "cdrom":
      return ["-drive", `${file},media=cdrom,readonly=on,if=ide`];
    case "virtio":
      return ["-drive", `${file},if=virtio`];
    case "ide":
      return ["-drive", `${file},if=ide`];
    case "lsi-scsi":
      return [
        "-device",
        "lsi53c895a,id=scsi0",
        "-drive",
        `${file},if=none,id=disk0`,
        "-device",
        "scsi-hd,drive=disk0,bus=scsi0.0",
      ];
  }
}

/** Runs QEMU until it exits (the guest powers off) or the timeout passes; never modifies the image. */
export async function bootImage(o: BootOptions): Promise<BootResult> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-boot-"));
  try {
    const args = ["-accel", "tcg", "-m", "512", "-display", "none", "-monitor", "none", "-serial", "stdio"];
    args.push("-nic", "none", "-no-reboot", "-snapshot");
    if (o.firmware === "efi") {
      const vars = join(dir, "OVMF_VARS.fd");
      await copyFile(OVMF_VARS, vars);
      args.push("-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`);
      args.push("-drive", `if=pflash,format=raw,file=${vars}`);
    }
    if (o.kernel)
      args.push("-kernel", o.kernel.kernel, "-initrd", o.kernel.initrd, "-append", o.kernel.cmdline);
    args.push(...driveArgs(o.drive));
    if (o.drive.kind === "cdrom" && o.firmware === "bios") args.push("-boot", "d");
    const started = Date.now();
    const child = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let console = "";
    child.stdout.on("data", (d: Buffer) => {
      console += d.toString("latin1");
    });
    child.stderr.on("data", (d: Buffer) => {
      console += d.toString("latin1");
    });
    const timeout = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 240_000);
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code) => resolve(code));
    }).finally(() => clearTimeout(timeout));
    return { console, ms: Date.now() - started, exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
