import { UsageError } from "@kiln/spec/errors";
import type { CommandDecl } from "../declare.js";

const IMAGE_EXT = /\.(iso|img|raw|qcow2|vmdk|vhd|vhdx)$/i;

/** `[qemu] IMAGE`: qemu is the only backend, accepted first as in `linuxkit run qemu`. */
function target(args: string[]): string {
  if (args.length === 1 && args[0] !== "qemu") return args[0]!;
  if (args.length === 2 && args[0] === "qemu") return args[1]!;
  throw new UsageError(
    `run: expected [qemu] IMAGE, got ${args.length ? args.join(" ") : "nothing"}`,
    "e.g. kiln run minio, kiln run qemu minio.iso",
  );
}

function whole(text: unknown, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} ${String(text)}: not a whole number`);
  return n;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

function since(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export const runCommand: CommandDecl = {
  name: "run",
  summary: "Boot an appliance in QEMU: a kernel+initrd prefix, an ISO or a disk image",
  details:
    "What to boot is read from the files: PREFIX-kernel with PREFIX-initrd.img (or PREFIX-squashfs.img) and " +
    "PREFIX-cmdline, an ISO, or a disk image (raw, qcow2, vmdk, vhd). UEFI is detected from the ISO's El Torito " +
    "catalog or the disk's EFI system partition, and OVMF is found in the usual places. The serial console is " +
    "on the terminal (Ctrl-A X quits QEMU, Ctrl-A C switches to its monitor) and is always copied to " +
    "STATE/console.log. SIGINT or SIGTERM to kiln asks the guest to power off (ACPI); a second one kills QEMU. " +
    "The exit status is 0 when the guest powers off, 1 when QEMU fails or the guest kernel panics. With " +
    "--detach, kiln returns once QEMU runs: see kiln ps, kiln logs and kiln stop. Details: docs/running.md.",
  args: [
    {
      name: "image",
      description:
        "a kernel+initrd prefix, an ISO or a disk image, optionally after `qemu` (the only backend) as in `linuxkit run qemu`",
      variadic: true,
      required: true,
    },
  ],
  options: [
    { flags: "--cpus <n>", description: "number of CPUs", default: "1" },
    { flags: "--mem <MiB>", description: "memory in MiB", default: "1024" },
    {
      flags: "--disk <spec>",
      description:
        "a disk, `[file=]PATH[,size=S][,format=F][,if=I]` with format raw or qcow2 and interface virtio or ide: created (qcow2 by default) only when missing, never overwritten or resized; a bare size is GiB, as in LinuxKit",
      repeatable: true,
    },
    {
      flags: "--disk-size <size>",
      description:
        "size for disks given without one; a bare number is MiB, as the 2017 -disk-size was (alone, it makes STATE/disk.img)",
    },
    {
      flags: "--data <string>",
      description: "metadata for the guest: a CD-ROM (volume cidata) holding one file, config",
    },
    { flags: "--data-file <file>", description: "the same, from a file" },
    { flags: "--networking <mode>", description: "user, tap,IF, bridge,BR or none", default: "user" },
    {
      flags: "-p, --publish <spec>",
      description:
        "publish a guest port, `[IP:]HOST:GUEST[/PROTO]` with PROTO tcp (default) or udp; binds 127.0.0.1 unless an IP is given; host port 0 picks one",
      repeatable: true,
    },
    {
      flags: "--network-restrict",
      description: "user networking with restrict=on: the guest reaches nothing but its published ports",
    },
    {
      flags: "--accel <accel>",
      description: "accelerator; auto takes KVM or HVF when usable, else TCG",
      choices: ["auto", "kvm", "hvf", "tcg"],
      default: "auto",
    },
    {
      flags: "--arch <arch>",
      description: "guest architecture",
      choices: ["x86_64", "aarch64"],
      default: "x86_64",
    },
    { flags: "--uefi", description: "boot with UEFI firmware, whatever the image says" },
    { flags: "--bios", description: "boot with BIOS, whatever the image says" },
    {
      flags: "--fw <path>",
      description:
        "UEFI firmware code image (implies --uefi; its OVMF_VARS sibling is used when there is one)",
    },
    { flags: "--kernel", description: "boot PREFIX-kernel + PREFIX-initrd.img, without detecting" },
    { flags: "--squashfs", description: "boot PREFIX-kernel + PREFIX-squashfs.img, without detecting" },
    { flags: "--iso", description: "boot the file as an ISO, without detecting" },
    { flags: "--append <text>", description: "add to the kernel command line (kernel and squashfs boots)" },
    {
      flags: "--state <dir>",
      description: "state directory: pid, MAC, QMP socket, console.log, qemu.cmdline (default: PREFIX-state)",
    },
    {
      flags: "--name <name>",
      description: "the VM's name for kiln ps/logs/stop (default: the image's base name)",
    },
    { flags: "-d, --detach", description: "return once the VM runs, leaving it in the background" },
    {
      flags: "--reboot",
      description: "let the guest reboot (by default a reboot, or a panic with panic=N, ends the run)",
    },
    { flags: "--qemu <path>", description: "QEMU binary (default: qemu-system-ARCH on $PATH)" },
    { flags: "--device <spec>", description: "an extra QEMU -device", repeatable: true },
  ],
  examples: [
    "kiln run minio",
    "kiln run qemu --mem 2048 --disk disk1.img,size=4G -p 9000:9000 minio",
    "kiln run --disk-size 4096 --disk disk1.img minio",
    "kiln run --detach --name web -p 8080:80 --network-restrict web.iso",
    "kiln run --data-file userdata.json minio-efi.iso",
  ],
  async run(args, o, ctx) {
    const image = target(args);
    if (o.uefi && o.bios) throw new UsageError("--uefi and --bios: give one or the other");
    const kinds = (["kernel", "squashfs", "iso"] as const).filter((k) => o[k]);
    if (kinds.length > 1) throw new UsageError(`--${kinds.join(" and --")}: give one boot type at most`);
    // Loaded here so that other commands never pay for it.
    const { defaultVmName, startVm } = await import("@kiln/runner");
    const prefix = image.replace(IMAGE_EXT, "");
    const name = (o.name as string | undefined) ?? defaultVmName(prefix);
    const note = (m: string) => ctx.stderr.write(`kiln: ${m}\n`);
    const detach = o.detach === true;
    const vm = await startVm({
      image,
      ...(kinds[0] ? { boot: kinds[0] } : {}),
      firmware: o.uefi ? "uefi" : o.bios ? "bios" : "auto",
      ...(o.fw ? { fw: o.fw as string } : {}),
      arch: o.arch as "x86_64" | "aarch64",
      accel: o.accel as "auto" | "kvm" | "hvf" | "tcg",
      cpus: whole(o.cpus, "--cpus"),
      mem: whole(o.mem, "--mem"),
      disks: list(o.disk),
      ...(o.diskSize !== undefined ? { diskSize: String(o.diskSize) } : {}),
      ...(o.data !== undefined ? { data: o.data as string } : {}),
      ...(o.dataFile !== undefined ? { dataFile: o.dataFile as string } : {}),
      networking: o.networking as string,
      publish: list(o.publish),
      restrict: o.networkRestrict === true,
      ...(o.append ? { append: o.append as string } : {}),
      state: (o.state as string | undefined) ?? `${prefix}-state`,
      name,
      console: detach ? "capture" : "inherit",
      detach,
      reboot: o.reboot === true,
      ...(o.qemu ? { qemu: o.qemu as string } : {}),
      devices: list(o.device),
      cwd: ctx.cwd,
      onNotice: note,
    });
    const fw =
      vm.boot.kind === "kernel" || vm.boot.kind === "squashfs" ? "" : vm.boot.uefi ? ", UEFI" : ", BIOS";
    note(`${name}: ${vm.boot.kind}${fw}, ${vm.accel}, pid ${vm.pid}, state in ${vm.stateDir}`);
    for (const p of vm.ports)
      note(`${name}: ${p.hostAddress}:${p.hostPort} -> guest ${p.guestPort}/${p.protocol}`);
    if (detach) {
      ctx.stdout.write(`${name}\n`);
      note(`${name} is running in the background: kiln logs -f ${name}, kiln stop ${name}`);
      return 0;
    }

    // Signals reach kiln, not the guest (the terminal is in raw mode): the first asks the guest to power
    // off, the second kills QEMU.
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        note(`${sig}: asking the guest to power off (send it again to kill QEMU)`);
        void vm.stop({ timeoutMs: 60_000 });
      } else void vm.kill();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      const exit = await vm.exited;
      const failure = vm.exitError(exit);
      if (failure) {
        ctx.stderr.write(`kiln: error: ${failure.message}\n`);
        if (failure.hint) ctx.stderr.write(`kiln: hint: ${failure.hint}\n`);
        return 1;
      }
      const how: Record<string, string> = {
        poweroff: "powered off",
        reboot: "rebooted; the run ends there (--reboot lets the guest restart)",
        quit: `was stopped (${exit.shutdownReason ?? "QEMU quit"})`,
      };
      note(`${name} ${how[exit.reason] ?? exit.reason} after ${since(exit.durationMs)}`);
      return 0;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  },
};
