import { describe, expect, test } from "vitest";
import type { Boot } from "./boot.js";
import { buildQemuArgs, type QemuPlan } from "./qemu-args.js";
import { statePaths } from "./state-dir.js";

const S = "/s";
const kernelBoot: Boot = {
  kind: "kernel",
  prefix: "/out/minio",
  kernel: "/out/minio-kernel",
  initrd: "/out/minio-initrd.img",
  cmdline: "console=ttyS0",
  uefi: false,
  firmwareReason: "direct kernel boot",
};

function plan(over: Partial<QemuPlan> = {}): QemuPlan {
  return {
    arch: "x86_64",
    accel: "tcg",
    cpus: 1,
    memMiB: 1024,
    uuid: "00000000-0000-4000-8000-000000000001",
    boot: kernelBoot,
    disks: [],
    cdroms: [],
    network: { mode: "user" },
    publish: [],
    restrict: false,
    mac: "02:00:00:00:00:01",
    paths: statePaths(S),
    console: "socket",
    reboot: false,
    ...over,
  };
}

/** The values following each occurrence of `flag`. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));
}

describe("buildQemuArgs", () => {
  test("a kernel+initrd boot, whole", () => {
    expect(buildQemuArgs(plan({ name: "minio" }))).toEqual([
      "-name",
      "minio",
      "-machine",
      "q35,accel=tcg",
      "-smp",
      "1",
      "-m",
      "1024",
      "-uuid",
      "00000000-0000-4000-8000-000000000001",
      "-nodefaults",
      "-display",
      "none",
      "-no-reboot",
      "-pidfile",
      "/s/qemu.pid",
      "-chardev",
      "socket,id=qmp0,path=/s/qmp.sock,server=on,wait=off",
      "-mon",
      "chardev=qmp0,mode=control",
      "-chardev",
      "socket,id=qmp1,path=/s/qmp-owner.sock,server=on,wait=off",
      "-mon",
      "chardev=qmp1,mode=control",
      "-chardev",
      "socket,id=con0,path=/s/console.sock,server=on,wait=off,logfile=/s/console.log",
      "-serial",
      "chardev:con0",
      "-object",
      "rng-random,id=rng0,filename=/dev/urandom",
      "-device",
      "virtio-rng-pci,rng=rng0",
      "-kernel",
      "/out/minio-kernel",
      "-initrd",
      "/out/minio-initrd.img",
      "-append",
      "console=ttyS0",
      "-netdev",
      "user,id=net0",
      "-device",
      "virtio-net-pci,netdev=net0,mac=02:00:00:00:00:01",
    ]);
  });

  test("KVM adds -cpu host; TCG leaves QEMU's default CPU", () => {
    expect(values(buildQemuArgs(plan({ accel: "kvm" })), "-machine")).toEqual(["q35,accel=kvm"]);
    expect(values(buildQemuArgs(plan({ accel: "kvm" })), "-cpu")).toEqual(["host"]);
    expect(values(buildQemuArgs(plan()), "-cpu")).toEqual([]);
  });

  test("aarch64 uses virt, and a SCSI CD-ROM since virt has no IDE", () => {
    const argv = buildQemuArgs(plan({ arch: "aarch64", cdroms: ["/s/data.iso"] }));
    expect(values(argv, "-machine")).toEqual(["virt,accel=tcg"]);
    expect(values(argv, "-cpu")).toEqual(["max"]);
    expect(values(argv, "-device")).toContain("virtio-scsi-pci,id=scsi0");
    expect(values(argv, "-device")).toContain("scsi-cd,drive=cd0,bus=scsi0.0");
    expect(values(buildQemuArgs(plan({ arch: "aarch64", accel: "kvm" })), "-machine")).toEqual([
      "virt,accel=kvm,gic-version=host",
    ]);
  });

  test("the interactive console is QEMU's stdio, muxed with the monitor, logged", () => {
    const argv = buildQemuArgs(plan({ console: "stdio" }));
    expect(values(argv, "-chardev")).toContain("stdio,id=con0,mux=on,signal=off,logfile=/s/console.log");
    expect(values(argv, "-serial")).toEqual(["chardev:con0"]);
    expect(values(argv, "-mon")).toContain("chardev=con0,mode=readline");
  });

  test("--reboot drops -no-reboot; --append extends the command line", () => {
    expect(buildQemuArgs(plan({ reboot: true }))).not.toContain("-no-reboot");
    expect(values(buildQemuArgs(plan({ append: "kiln.test=x" })), "-append")).toEqual([
      "console=ttyS0 kiln.test=x",
    ]);
  });

  test("user networking: published ports bind their address; restrict=on; guestfwd", () => {
    const argv = buildQemuArgs(
      plan({
        restrict: true,
        publish: [
          { hostAddress: "127.0.0.1", hostPort: 9000, guestPort: 9000, protocol: "tcp" },
          { hostAddress: "0.0.0.0", hostPort: 5353, guestPort: 53, protocol: "udp" },
          { hostAddress: "::1", hostPort: 8443, guestPort: 443, protocol: "tcp" },
        ],
        guestForwards: [
          { guestAddress: "10.0.2.100", guestPort: 1234, hostAddress: "127.0.0.1", hostPort: 5000 },
        ],
      }),
    );
    expect(values(argv, "-netdev")).toEqual([
      "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:9000-:9000,hostfwd=udp:0.0.0.0:5353-:53," +
        "hostfwd=tcp:[::1]:8443-:443,guestfwd=tcp:10.0.2.100:1234-tcp:127.0.0.1:5000",
    ]);
  });

  test("tap, bridge and none", () => {
    expect(values(buildQemuArgs(plan({ network: { mode: "tap", ifname: "tap0" } })), "-netdev")).toEqual([
      "tap,id=net0,ifname=tap0,script=no,downscript=no",
    ]);
    expect(values(buildQemuArgs(plan({ network: { mode: "bridge", bridge: "br0" } })), "-netdev")).toEqual([
      "bridge,id=net0,br=br0",
    ]);
    const none = buildQemuArgs(plan({ network: { mode: "none" } }));
    expect(none).not.toContain("-netdev");
    expect(values(none, "-device").some((d) => d.startsWith("virtio-net"))).toBe(false);
  });

  test("disks are virtio-blk by default, IDE on request; paths with commas are escaped", () => {
    const argv = buildQemuArgs(
      plan({
        disks: [
          { path: "/d/a,b.qcow2", format: "qcow2", interface: "virtio", created: true },
          { path: "/d/c.img", format: "raw", interface: "ide", created: false },
        ],
      }),
    );
    expect(values(argv, "-drive")).toEqual([
      "if=none,id=disk0,format=qcow2,file=/d/a,,b.qcow2",
      "if=none,id=disk1,format=raw,file=/d/c.img",
    ]);
    expect(values(argv, "-device")).toContain("virtio-blk-pci,drive=disk0");
    expect(values(argv, "-device")).toContain("ide-hd,drive=disk1,bus=ide.0");
  });

  test("an ISO boots from the first CD-ROM; the metadata CD is the next", () => {
    const argv = buildQemuArgs(
      plan({
        boot: { kind: "iso", path: "/out/minio.iso", prefix: "/out/minio", uefi: false, firmwareReason: "" },
        cdroms: ["/s/data.iso"],
      }),
    );
    expect(argv).not.toContain("-kernel");
    expect(values(argv, "-drive")).toEqual([
      "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/out/minio.iso",
      "if=none,id=cd1,media=cdrom,readonly=on,format=raw,file=/s/data.iso",
    ]);
    expect(values(argv, "-device")).toContain("ide-cd,drive=cd0,bus=ide.0,bootindex=0");
    expect(values(argv, "-device")).toContain("ide-cd,drive=cd1,bus=ide.1");
  });

  test("a kernel boot's metadata CD is the only CD-ROM (the guest's /dev/sr0)", () => {
    const argv = buildQemuArgs(plan({ cdroms: ["/s/data.iso"] }));
    expect(values(argv, "-device")).toContain("ide-cd,drive=cd0,bus=ide.0");
  });

  test("a disk image boots first, before --disk ones; squashfs is a read-only virtio disk", () => {
    const disk = buildQemuArgs(
      plan({
        boot: {
          kind: "disk",
          path: "/out/m.qcow2",
          format: "qcow2",
          prefix: "/out/m",
          uefi: false,
          firmwareReason: "",
        },
        disks: [{ path: "/d/x.img", format: "qcow2", interface: "virtio", created: false }],
      }),
    );
    expect(values(disk, "-drive")).toEqual([
      "if=none,id=disk0,format=qcow2,file=/out/m.qcow2",
      "if=none,id=disk1,format=qcow2,file=/d/x.img",
    ]);
    expect(values(disk, "-device")).toContain("virtio-blk-pci,drive=disk0,bootindex=0");
    const sq = buildQemuArgs(
      plan({
        boot: {
          kind: "squashfs",
          kernel: "/o/m-kernel",
          squashfs: "/o/m-squashfs.img",
          cmdline: "console=ttyS0",
          prefix: "/o/m",
          uefi: false,
          firmwareReason: "",
        },
      }),
    );
    expect(values(sq, "-append")).toEqual(["console=ttyS0 root=/dev/vda"]);
    expect(values(sq, "-drive")).toEqual(["if=none,id=disk0,format=raw,file=/o/m-squashfs.img,readonly=on"]);
    expect(sq).not.toContain("-initrd");
  });

  test("UEFI: read-only code and the VM's own variables as pflash; a combined image is one writable copy", () => {
    const split = buildQemuArgs(
      plan({ firmware: { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/s/efi-vars.fd" } }),
    );
    expect(values(split, "-drive")).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,format=raw,unit=1,file=/s/efi-vars.fd",
    ]);
    const combined = buildQemuArgs(plan({ firmware: { combined: "/s/efi-firmware.fd" } }));
    expect(values(combined, "-drive")).toEqual(["if=pflash,format=raw,unit=0,file=/s/efi-firmware.fd"]);
  });

  test("extra devices are passed through", () => {
    expect(values(buildQemuArgs(plan({ devices: ["usb-ehci", "pvpanic"] })), "-device").slice(-2)).toEqual([
      "usb-ehci",
      "pvpanic",
    ]);
  });
});
