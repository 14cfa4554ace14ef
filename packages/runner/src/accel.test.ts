import { KilnError } from "@kiln/spec";
import { describe, expect, test } from "vitest";
import { type AccelRequest, decideAccel, type GuestArch, type HostFacts, probeHostFacts } from "./accel.js";

const linux: HostFacts = {
  platform: "linux",
  hostArch: "x86_64",
  kvmDevice: "usable",
  kvmModules: ["kvm_intel"],
  hvfSupported: false,
};
const pvm: HostFacts = { ...linux, kvmModules: ["kvm_pvm"] };
const mac: HostFacts = {
  platform: "darwin",
  hostArch: "aarch64",
  kvmDevice: "missing",
  kvmModules: [],
  hvfSupported: true,
};

// [name, request, guest, facts, expected accel or error, note pattern]
const table: [string, AccelRequest, GuestArch, HostFacts, string, RegExp?][] = [
  ["Linux with KVM (Intel)", "auto", "x86_64", linux, "kvm"],
  ["Linux with KVM (AMD)", "auto", "x86_64", { ...linux, kvmModules: ["kvm_amd"] }, "kvm"],
  ["arm64 Linux, KVM built in", "auto", "aarch64", { ...linux, hostArch: "aarch64", kvmModules: [] }, "kvm"],
  ["nested PVM host", "auto", "x86_64", pvm, "tcg", /nested PVM/],
  [
    "PVM beside a hardware module",
    "auto",
    "x86_64",
    { ...linux, kvmModules: ["kvm_intel", "kvm_pvm"] },
    "kvm",
  ],
  [
    "no /dev/kvm",
    "auto",
    "x86_64",
    { ...linux, kvmDevice: "missing", kvmModules: [] },
    "tcg",
    /no \/dev\/kvm/,
  ],
  [
    "/dev/kvm not accessible",
    "auto",
    "x86_64",
    { ...linux, kvmDevice: "denied" },
    "tcg",
    /kvm group|readable/,
  ],
  ["foreign guest", "auto", "aarch64", linux, "tcg", /emulating a aarch64 guest on a x86_64 host/],
  ["macOS with HVF", "auto", "aarch64", mac, "hvf"],
  ["macOS without HVF", "auto", "aarch64", { ...mac, hvfSupported: false }, "tcg", /Hypervisor framework/],
  [
    "other OS",
    "auto",
    "x86_64",
    { ...linux, platform: "freebsd", kvmDevice: "missing", kvmModules: [] },
    "tcg",
    /only on Linux/,
  ],
  ["explicit tcg with KVM there", "tcg", "x86_64", linux, "tcg"],
  ["explicit kvm", "kvm", "x86_64", linux, "kvm"],
  ["explicit kvm on a PVM host", "kvm", "x86_64", pvm, "error:nested PVM"],
  ["explicit kvm without /dev/kvm", "kvm", "x86_64", { ...linux, kvmDevice: "missing" }, "error:no /dev/kvm"],
  [
    "explicit kvm, no permission",
    "kvm",
    "x86_64",
    { ...linux, kvmDevice: "denied" },
    "error:not readable and writable",
  ],
  ["explicit kvm, foreign guest", "kvm", "aarch64", linux, "error:cannot run a aarch64 guest"],
  ["explicit kvm on macOS", "kvm", "aarch64", mac, "error:only on Linux"],
  ["explicit hvf on macOS", "hvf", "aarch64", mac, "hvf"],
  ["explicit hvf on Linux", "hvf", "x86_64", linux, "error:only on macOS"],
  ["explicit hvf, unsupported", "hvf", "aarch64", { ...mac, hvfSupported: false }, "error:kern.hv_support"],
];

describe("decideAccel", () => {
  test.for(table)("%s", ([, request, guest, facts, expected, note]) => {
    if (expected.startsWith("error:")) {
      expect(() => decideAccel(request, guest, facts)).toThrow(KilnError);
      expect(() => decideAccel(request, guest, facts)).toThrow(expected.slice(6));
      return;
    }
    const d = decideAccel(request, guest, facts);
    expect(d.accel).toBe(expected);
    if (note) expect(d.note).toMatch(note);
    else expect(d.note).toBeUndefined();
  });

  test("a fallback note is one line", () => {
    expect(decideAccel("auto", "x86_64", pvm).note).not.toContain("\n");
  });

  test("an unknown request is a usage error", () => {
    expect(() => decideAccel("xen" as AccelRequest, "x86_64", linux)).toThrow(/unknown accelerator/);
  });

  // This machine is a nested PVM host; on others the assertion is about whatever they are.
  test("probeHostFacts reads this host", async () => {
    const facts = await probeHostFacts();
    expect(facts.platform).toBe(process.platform);
    if (
      facts.kvmModules.includes("kvm_pvm") &&
      !facts.kvmModules.some((m) => m === "kvm_intel" || m === "kvm_amd")
    ) {
      expect(decideAccel("auto", "x86_64", facts)).toMatchObject({
        accel: "tcg",
        note: expect.stringContaining("PVM"),
      });
    }
  });
});
