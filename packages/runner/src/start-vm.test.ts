// startVm's failures before and during QEMU's start-up: fast, with a real QEMU that refuses its command line.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KilnError } from "@kiln/spec";
import { afterAll, expect, test } from "vitest";
import type { HostFacts } from "./accel.js";
import { startVm } from "./start-vm.js";
import { VmError } from "./vm-error.js";

const dir = mkdtempSync(join(tmpdir(), "kiln-startvm-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const prefix = join(dir, "app");
for (const f of ["kernel", "initrd.img"]) writeFileSync(`${prefix}-${f}`, "not really a kernel");
writeFileSync(`${prefix}-cmdline`, "console=ttyS0");
const blank = join(dir, "blank.img");
writeFileSync(blank, Buffer.alloc(1 << 20));
const pvm: HostFacts = {
  platform: "linux",
  hostArch: "x86_64",
  kvmDevice: "usable",
  kvmModules: ["kvm_pvm"],
  hvfSupported: false,
};
const tempStates = () =>
  readdirSync(tmpdir())
    .filter((n) => n.startsWith("kiln-vm-"))
    .sort();

test("QEMU refusing its command line is a VmError with what QEMU said, and nothing is left behind", async () => {
  const before = tempStates();
  const e = await startVm({ disk: blank, accel: "tcg", mem: 64, devices: ["no-such-device-model"] }).catch(
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(VmError);
  const err = e as VmError;
  expect(err.shortMessage).toMatch(/QEMU exited during start-up \(exit code 1\)/);
  expect(err.qemuStderr).toMatch(/no-such-device-model/);
  expect(err.escapedCommand).toMatch(/qemu-system-x86_64 .*-device no-such-device-model/);
  expect(err.message).toContain("qemu said:");
  expect(tempStates()).toEqual(before); // the temp state directory it made is gone
});

test("an explicit --accel kvm on a nested PVM host fails before anything starts, saying why", async () => {
  await expect(startVm({ prefix, accel: "kvm", hostFacts: pvm })).rejects.toThrow(/nested PVM/);
});

test("auto on a nested PVM host notes the fallback to TCG", async () => {
  const notes: string[] = [];
  const e = await startVm({
    prefix,
    hostFacts: pvm,
    mem: 64,
    devices: ["no-such-device-model"],
    onNotice: (m) => notes.push(m),
  }).catch((x: unknown) => x as VmError);
  expect(notes[0]).toMatch(/^no KVM: .*nested PVM.*using TCG/);
  expect((e as VmError).escapedCommand).toContain("-machine q35,accel=tcg");
});

test("a QEMU binary that is not there, and option conflicts, are errors with hints", async () => {
  await expect(startVm({ prefix, qemu: join(dir, "no-qemu") })).rejects.toThrow(KilnError);
  await expect(startVm({ prefix, qemu: join(dir, "no-qemu") })).rejects.toThrow(/no-qemu not found/);
  await expect(startVm({ prefix, iso: "x.iso", accel: "tcg" })).rejects.toThrow(/exactly one of/);
  await expect(startVm({ prefix, data: "a", dataFile: "b" })).rejects.toThrow(/--data and --data-file/);
  await expect(startVm({ prefix, networking: "none", publish: ["80:80"] })).rejects.toThrow(
    /need user networking/,
  );
  await expect(startVm({ prefix, cpus: 0 })).rejects.toThrow(/--cpus 0/);
});
