// Real boots under TCG of the test fixture as LinuxKit's three classic outputs: kernel+initrd, a BIOS ISO
// and an EFI ISO. Each waits for the fixture's marker and stops the guest with an ACPI power-down.
import { existsSync } from "node:fs";
import { type BootFixture, makeBootFixture } from "@kiln/runner/testing";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startVm } from "./start-vm.js";

const lean = { mem: 512, cpus: 1, accel: "tcg", restrict: true } as const;
const BOOT_MS = 240_000;
let fx: BootFixture;
beforeAll(async () => {
  fx = await makeBootFixture();
});
afterAll(async () => {
  await fx?.[Symbol.asyncDispose]();
});

describe("boots", () => {
  test("kernel+initrd: the marker, then a clean ACPI power-off", async () => {
    await using vm = await startVm({ prefix: await fx.prefix("k"), ...lean });
    expect(vm.boot).toMatchObject({ kind: "kernel", uefi: false });
    expect(vm.command).toContain("-kernel");
    await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: BOOT_MS });
    const exit = await vm.stop({ timeoutMs: 60_000 });
    expect(exit).toMatchObject({ reason: "poweroff", ok: true, code: 0, shutdownReason: "guest-shutdown" });
    expect(vm.console).toContain("KILN-FIXTURE: power button");
    expect(vm.running).toBe(false);
  });

  test("a BIOS ISO is booted with SeaBIOS and isolinux, without firmware files", async () => {
    await using vm = await startVm({ image: await fx.biosIso(), ...lean });
    expect(vm.boot).toMatchObject({ kind: "iso", uefi: false });
    expect(vm.command.join(" ")).not.toContain("pflash");
    await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: BOOT_MS });
    expect(vm.console).toContain("ISOLINUX");
    expect(await vm.stop({ timeoutMs: 60_000 })).toMatchObject({ reason: "poweroff", code: 0 });
  });

  test("an EFI ISO is detected from its catalog and booted with OVMF and the VM's own variables", async () => {
    await using vm = await startVm({ image: await fx.efiIso("appliance.iso"), ...lean });
    expect(vm.boot).toMatchObject({ kind: "iso", uefi: true });
    const pflash = vm.command.filter((a) => a.startsWith("if=pflash"));
    expect(pflash).toHaveLength(2);
    expect(pflash[0]).toMatch(/readonly=on,file=.*OVMF.*CODE/);
    expect(pflash[1]).toBe(`if=pflash,format=raw,unit=1,file=${vm.stateDir}/efi-vars.fd`);
    expect(existsSync(`${vm.stateDir}/efi-vars.fd`)).toBe(true);
    await vm.waitForConsole(/KILN-FIXTURE: ready/, { timeoutMs: BOOT_MS });
    expect(await vm.stop({ timeoutMs: 60_000 })).toMatchObject({ reason: "poweroff", code: 0 });
  });

  test("a panicking guest ends QEMU (-no-reboot, panic=-1) and the exit says so", async () => {
    await using vm = await startVm({ prefix: await fx.prefix("p"), append: "kiln.test=panic", ...lean });
    const exit = await vm.exited;
    expect(exit).toMatchObject({ reason: "panic", ok: false });
    expect(exit.consoleTail.join("\n")).toMatch(/Kernel|RIP|TASK/);
    const err = vm.exitError(exit)!;
    expect(err.shortMessage).toMatch(/kernel panicked: Attempted to kill init/);
    expect(err.message).toContain(vm.escapedCommand);
    await expect(vm.waitForConsole("never printed", { timeoutMs: 1000 })).rejects.toThrow(
      /exited \(panic\) before/,
    );
  });

  test("disposal kills a running VM and removes the temp state directory it made", async () => {
    let stateDir = "";
    let pid = 0;
    {
      await using vm = await startVm({ prefix: await fx.prefix("d"), append: "kiln.test=hang", ...lean });
      stateDir = vm.stateDir;
      pid = vm.pid;
      expect(existsSync(`${stateDir}/qemu.cmdline`)).toBe(true);
    }
    expect(existsSync(stateDir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
