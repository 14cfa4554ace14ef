import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { FIRMWARE_CANDIDATES, findUefiFirmware, vmFirmwareCopy } from "./firmware.js";

const only =
  (...paths: string[]) =>
  (p: string) =>
    paths.includes(p);

describe("findUefiFirmware", () => {
  test("Debian 12's split 4M images come first", () => {
    const exists = only(
      "/usr/share/OVMF/OVMF_CODE_4M.fd",
      "/usr/share/OVMF/OVMF_VARS_4M.fd",
      "/usr/share/ovmf/OVMF.fd",
    );
    expect(findUefiFirmware("x86_64", undefined, exists)).toEqual({
      code: "/usr/share/OVMF/OVMF_CODE_4M.fd",
      varsTemplate: "/usr/share/OVMF/OVMF_VARS_4M.fd",
    });
  });

  test.for([
    [["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"], "/usr/share/OVMF/OVMF_CODE.fd"],
    [
      ["/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"],
      "/usr/share/edk2/ovmf/OVMF_CODE.fd",
    ],
    [
      ["/opt/homebrew/share/qemu/edk2-x86_64-code.fd", "/opt/homebrew/share/qemu/edk2-i386-vars.fd"],
      "/opt/homebrew/share/qemu/edk2-x86_64-code.fd",
    ],
    [["/usr/share/ovmf/OVMF.fd"], "/usr/share/ovmf/OVMF.fd"],
  ] as const)("%j", ([paths, code]) => {
    expect(findUefiFirmware("x86_64", undefined, only(...paths)).code).toBe(code);
  });

  test("a code image without its variables is skipped", () => {
    expect(
      findUefiFirmware(
        "x86_64",
        undefined,
        only("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/ovmf/OVMF.fd"),
      ),
    ).toEqual({
      code: "/usr/share/ovmf/OVMF.fd",
    });
  });

  test("aarch64 looks for AAVMF", () => {
    expect(
      findUefiFirmware(
        "aarch64",
        undefined,
        only("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"),
      ).code,
    ).toBe("/usr/share/AAVMF/AAVMF_CODE.fd");
  });

  test("none found: an error naming the package", () => {
    expect(() => findUefiFirmware("x86_64", undefined, () => false)).toThrow(/none was found/);
    expect(() => findUefiFirmware("x86_64", undefined, () => false)).toThrow(
      expect.objectContaining({ hint: expect.stringContaining("ovmf") }),
    );
  });

  test("--fw: its VARS sibling when there is one, else a combined image; missing is an error", () => {
    expect(
      findUefiFirmware("x86_64", "/fw/OVMF_CODE.fd", only("/fw/OVMF_CODE.fd", "/fw/OVMF_VARS.fd")),
    ).toEqual({
      code: "/fw/OVMF_CODE.fd",
      varsTemplate: "/fw/OVMF_VARS.fd",
    });
    expect(findUefiFirmware("x86_64", "/fw/bios.bin", only("/fw/bios.bin"))).toEqual({
      code: "/fw/bios.bin",
    });
    expect(() => findUefiFirmware("x86_64", "/fw/none.fd", () => false)).toThrow(
      /--fw \/fw\/none.fd: no such file/,
    );
  });

  test("this machine has firmware", () => {
    expect(FIRMWARE_CANDIDATES.x86_64.length).toBeGreaterThan(5);
    expect(() => findUefiFirmware("x86_64")).not.toThrow();
  });
});

describe("vmFirmwareCopy", () => {
  const dir = mkdtempSync(join(tmpdir(), "kiln-fw-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the variables are copied once per state directory and kept across runs", async () => {
    writeFileSync(join(dir, "CODE.fd"), Buffer.alloc(4096, 1));
    writeFileSync(join(dir, "VARS.fd"), Buffer.alloc(1024, 2));
    const fw = { code: join(dir, "CODE.fd"), varsTemplate: join(dir, "VARS.fd") };
    const state = join(dir, "state");
    rmSync(state, { recursive: true, force: true });
    mkdirSync(state);
    const vars = await vmFirmwareCopy(fw, state);
    expect(vars).toBe(join(state, "efi-vars.fd"));
    writeFileSync(vars, Buffer.alloc(1024, 7)); // the guest wrote its NVRAM
    const ino = statSync(vars).ino;
    expect(await vmFirmwareCopy(fw, state)).toBe(vars);
    expect(statSync(vars).ino).toBe(ino);
    expect(readFileSync(vars)[0]).toBe(7);
    writeFileSync(join(dir, "VARS.fd"), Buffer.alloc(2048, 3)); // another firmware: sizes differ
    await vmFirmwareCopy(fw, state);
    expect(readFileSync(vars)).toHaveLength(2048);
  });

  test("a combined image is copied whole", async () => {
    const state = mkdtempSync(join(dir, "s2-"));
    expect(await vmFirmwareCopy({ code: join(dir, "CODE.fd") }, state)).toBe(join(state, "efi-firmware.fd"));
  });
});
