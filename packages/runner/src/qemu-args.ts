import type { Accel, GuestArch } from "./accel.js";
import type { Boot } from "./boot.js";
import type { PreparedDisk } from "./disks.js";
import type { NetworkMode } from "./networking.js";
import type { PortSpec } from "./publish.js";
import { qemuValue as v } from "./shell-quote.js";
import type { StatePaths } from "./state-dir.js";

/** Let the guest reach one host service even under restrict=on (QEMU's guestfwd). */
export interface GuestForward {
  /** The address the guest connects to, inside 10.0.2.0/24, e.g. 10.0.2.100. */
  guestAddress: string;
  guestPort: number;
  hostAddress: string;
  hostPort: number;
}

/** Everything the QEMU command line is made from, already resolved to files and numbers. */
export interface QemuPlan {
  arch: GuestArch;
  accel: Accel;
  cpus: number;
  memMiB: number;
  uuid: string;
  name?: string;
  boot: Boot;
  /** Extra kernel command line for kernel and squashfs boots. */
  append?: string;
  /** UEFI firmware: the read-only code and the VM's writable copy (variables, or the whole image). */
  firmware?: { code: string; vars: string } | { combined: string };
  disks: readonly PreparedDisk[];
  /** Further CD-ROMs after the boot ISO: the metadata CD. */
  cdroms: readonly string[];
  network: NetworkMode;
  publish: readonly PortSpec[];
  restrict: boolean;
  guestForwards?: readonly GuestForward[];
  mac: string;
  paths: StatePaths;
  /** `stdio`: the console on QEMU's stdio with Ctrl-A X to quit; `socket`: on STATE/console.sock. */
  console: "stdio" | "socket";
  /** Let a guest reboot; otherwise a reboot (and a panic with panic=N) ends QEMU. */
  reboot: boolean;
  /** Extra -device values, passed through (LinuxKit's --device). */
  devices?: readonly string[];
}

function machine(plan: QemuPlan): string[] {
  if (plan.arch === "aarch64") {
    const gic = plan.accel === "kvm" ? ",gic-version=host" : "";
    return ["-machine", `virt,accel=${plan.accel}${gic}`, "-cpu", plan.accel === "tcg" ? "max" : "host"];
  }
  return ["-machine", `q35,accel=${plan.accel}`, ...(plan.accel === "tcg" ? [] : ["-cpu", "host"])];
}

function consoleArgs(plan: QemuPlan): string[] {
  const log = `logfile=${v(plan.paths.console)}`;
  if (plan.console === "stdio") {
    // signal=off: Ctrl-C goes to the guest; the mux makes Ctrl-A X quit and Ctrl-A C reach the monitor.
    return [
      "-chardev",
      `stdio,id=con0,mux=on,signal=off,${log}`,
      "-serial",
      "chardev:con0",
      "-mon",
      "chardev=con0,mode=readline",
    ];
  }
  return [
    "-chardev",
    `socket,id=con0,path=${v(plan.paths.consoleSocket)},server=on,wait=off,${log}`,
    "-serial",
    "chardev:con0",
  ];
}

function netdev(plan: QemuPlan): string[] {
  const n = plan.network;
  let spec: string;
  switch (n.mode) {
    case "none":
      return [];
    case "tap":
      spec = `tap,id=net0,ifname=${v(n.ifname)},script=no,downscript=no`;
      break;
    case "bridge":
      spec = `bridge,id=net0,br=${v(n.bridge)}`;
      break;
    case "user": {
      const parts = ["user", "id=net0"];
      if (plan.restrict) parts.push("restrict=on");
      for (const p of plan.publish) {
        const addr = p.hostAddress.includes(":") ? `[${p.hostAddress}]` : p.hostAddress;
        parts.push(`hostfwd=${p.protocol}:${addr}:${p.hostPort}-:${p.guestPort}`);
      }
      for (const f of plan.guestForwards ?? []) {
        parts.push(`guestfwd=tcp:${f.guestAddress}:${f.guestPort}-tcp:${f.hostAddress}:${f.hostPort}`);
      }
      spec = parts.join(",");
      break;
    }
  }
  return ["-netdev", spec, "-device", `virtio-net-pci,netdev=net0,mac=${plan.mac}`];
}

/**
 * The QEMU arguments (without the program) for a plan. Pure: the same plan gives the same argv, which is
 * what the unit tests assert on.
 */
export function buildQemuArgs(plan: QemuPlan): string[] {
  const a: string[] = [];
  if (plan.name) a.push("-name", v(plan.name));
  a.push(...machine(plan));
  a.push("-smp", String(plan.cpus), "-m", String(plan.memMiB), "-uuid", plan.uuid);
  // No default VGA, NIC, serial or CD drive: every device below is asked for.
  a.push("-nodefaults", "-display", "none");
  if (!plan.reboot) a.push("-no-reboot");
  a.push("-pidfile", plan.paths.pid);
  for (const [id, path] of [
    ["qmp0", plan.paths.qmp],
    ["qmp1", plan.paths.qmpOwner],
  ] as const) {
    a.push(
      "-chardev",
      `socket,id=${id},path=${v(path)},server=on,wait=off`,
      "-mon",
      `chardev=${id},mode=control`,
    );
  }
  a.push(...consoleArgs(plan));
  a.push("-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0");

  if (plan.firmware) {
    if ("combined" in plan.firmware) {
      a.push("-drive", `if=pflash,format=raw,unit=0,file=${v(plan.firmware.combined)}`);
    } else {
      a.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${v(plan.firmware.code)}`);
      a.push("-drive", `if=pflash,format=raw,unit=1,file=${v(plan.firmware.vars)}`);
    }
  }

  const boot = plan.boot;
  const extra = plan.append ? ` ${plan.append}` : "";
  if (boot.kind === "kernel") {
    a.push("-kernel", boot.kernel, "-initrd", boot.initrd, "-append", `${boot.cmdline}${extra}`.trim());
  } else if (boot.kind === "squashfs") {
    // LinuxKit appends root=/dev/sda for an AHCI disk; kiln attaches the squashfs with virtio.
    a.push("-kernel", boot.kernel, "-append", `${boot.cmdline} root=/dev/vda${extra}`.trim());
  }

  // Disks: the boot image (disk or squashfs) first, then --disk ones, in order.
  const disks: { path: string; format: string; iface: string; boot: boolean; readonly?: boolean }[] = [];
  if (boot.kind === "disk") disks.push({ path: boot.path, format: boot.format, iface: "virtio", boot: true });
  if (boot.kind === "squashfs")
    disks.push({ path: boot.squashfs, format: "raw", iface: "virtio", boot: false, readonly: true });
  for (const d of plan.disks) disks.push({ path: d.path, format: d.format, iface: d.interface, boot: false });
  const ide = plan.arch === "x86_64" ? ideBus() : undefined;
  for (const [i, d] of disks.entries()) {
    const ro = d.readonly ? ",readonly=on" : "";
    a.push("-drive", `if=none,id=disk${i},format=${d.format},file=${v(d.path)}${ro}`);
    const bootindex = d.boot ? ",bootindex=0" : "";
    if (d.iface === "ide" && ide) a.push("-device", `ide-hd,drive=disk${i},bus=${ide()}${bootindex}`);
    else a.push("-device", `virtio-blk-pci,drive=disk${i}${bootindex}`);
  }

  const cdroms = [...(boot.kind === "iso" ? [boot.path] : []), ...plan.cdroms];
  if (cdroms.length && !ide) a.push("-device", "virtio-scsi-pci,id=scsi0");
  for (const [i, path] of cdroms.entries()) {
    a.push("-drive", `if=none,id=cd${i},media=cdrom,readonly=on,format=raw,file=${v(path)}`);
    const bootindex = boot.kind === "iso" && i === 0 ? ",bootindex=0" : "";
    a.push(
      "-device",
      ide ? `ide-cd,drive=cd${i},bus=${ide()}${bootindex}` : `scsi-cd,drive=cd${i},bus=scsi0.0${bootindex}`,
    );
  }

  a.push(...netdev(plan));
  for (const d of plan.devices ?? []) a.push("-device", d);
  return a;
}

/** q35's AHCI controller has six ports, ide.0 to ide.5. */
function ideBus(): () => string {
  let port = 0;
  return () => `ide.${port++}`;
}
