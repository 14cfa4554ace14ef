import { spawnSync } from "node:child_process";
import { constants } from "node:fs";
import { access, readdir } from "node:fs/promises";
import { arch as nodeArch, platform as nodePlatform } from "node:os";
import { KilnError, UsageError } from "@kiln/spec/errors";

export type Accel = "kvm" | "hvf" | "tcg";
export type AccelRequest = "auto" | Accel;
export type GuestArch = "x86_64" | "aarch64";

/** What the accelerator choice depends on, gathered once so the choice itself is a pure function. */
export interface HostFacts {
  platform: NodeJS.Platform;
  /** The host's architecture in QEMU's naming (x86_64, aarch64, ...). */
  hostArch: string;
  /** /dev/kvm: usable (read and write), missing, or there but not for this user. */
  kvmDevice: "usable" | "missing" | "denied";
  /** The KVM modules loaded (kvm_intel, kvm_amd, kvm_pvm), from /sys/module. */
  kvmModules: readonly string[];
  /** macOS: the Hypervisor framework is available (sysctl kern.hv_support). */
  hvfSupported: boolean;
}

export interface AccelDecision {
  accel: Accel;
  /** One line for stderr when auto fell back to TCG, saying why. */
  note?: string;
}

export const ACCEL_CHOICES: readonly AccelRequest[] = ["auto", "kvm", "hvf", "tcg"];

/** Node's arch names → QEMU's. */
export function qemuArchOf(nodeArchName: string): string {
  return ({ x64: "x86_64", arm64: "aarch64" } as Record<string, string>)[nodeArchName] ?? nodeArchName;
}

/** Why KVM cannot be used on this host, or undefined when it can. */
function kvmProblem(f: HostFacts): { why: string; hint: string } | undefined {
  if (f.platform !== "linux")
    return { why: `KVM exists only on Linux (this is ${f.platform})`, hint: "use --accel tcg" };
  if (f.kvmDevice === "missing") {
    return {
      why: "there is no /dev/kvm",
      hint: "enable virtualisation in the firmware or load kvm_intel/kvm_amd, or use --accel tcg",
    };
  }
  if (f.kvmDevice === "denied") {
    return {
      why: "/dev/kvm is not readable and writable by this user",
      hint: "add yourself to the kvm group (then log in again), or use --accel tcg",
    };
  }
  // A nested PVM hypervisor exposes /dev/kvm, but QEMU either aborts ("failed to set MSR") or hangs at
  // "Booting from ROM" on it, so it counts as no KVM.
  const hardware = f.kvmModules.includes("kvm_intel") || f.kvmModules.includes("kvm_amd");
  if (f.kvmModules.includes("kvm_pvm") && !hardware) {
    return {
      why: "/dev/kvm belongs to a nested PVM hypervisor (kvm_pvm is loaded, kvm_intel and kvm_amd are not), which QEMU cannot use",
      hint: "use --accel tcg",
    };
  }
  return undefined;
}

/**
 * Pick the accelerator. `auto` takes KVM on Linux when it works, HVF on macOS, else TCG with a note;
 * an explicit choice that cannot work is an error saying why.
 */
export function decideAccel(request: AccelRequest, guestArch: GuestArch, facts: HostFacts): AccelDecision {
  const foreign = facts.hostArch !== guestArch;
  switch (request) {
    case "tcg":
      return { accel: "tcg" };
    case "kvm": {
      if (foreign)
        throw new KilnError(
          `--accel kvm: KVM cannot run a ${guestArch} guest on this ${facts.hostArch} host`,
          { hint: "use --accel tcg" },
        );
      const p = kvmProblem(facts);
      if (p) throw new KilnError(`--accel kvm: ${p.why}`, { hint: p.hint });
      return { accel: "kvm" };
    }
    case "hvf":
      if (facts.platform !== "darwin")
        throw new KilnError(`--accel hvf: HVF exists only on macOS (this is ${facts.platform})`, {
          hint: "use --accel auto",
        });
      if (foreign)
        throw new KilnError(
          `--accel hvf: HVF cannot run a ${guestArch} guest on this ${facts.hostArch} host`,
          { hint: "use --accel tcg" },
        );
      if (!facts.hvfSupported)
        throw new KilnError(
          "--accel hvf: this Mac does not support the Hypervisor framework (kern.hv_support is 0)",
          { hint: "use --accel tcg" },
        );
      return { accel: "hvf" };
    case "auto": {
      const slow = "using TCG, which is much slower";
      if (foreign)
        return { accel: "tcg", note: `emulating a ${guestArch} guest on a ${facts.hostArch} host: ${slow}` };
      if (facts.platform === "darwin") {
        return facts.hvfSupported
          ? { accel: "hvf" }
          : { accel: "tcg", note: `the Hypervisor framework is not available: ${slow}` };
      }
      const p = kvmProblem(facts);
      return p ? { accel: "tcg", note: `no KVM: ${p.why}; ${slow}` } : { accel: "kvm" };
    }
    default:
      throw new UsageError(
        `--accel ${String(request)}: unknown accelerator`,
        `use one of ${ACCEL_CHOICES.join(", ")}`,
      );
  }
}

/** Look at this host: /dev/kvm, the loaded KVM modules, macOS's hypervisor support. */
export async function probeHostFacts(): Promise<HostFacts> {
  const platform = nodePlatform();
  let kvmDevice: HostFacts["kvmDevice"] = "missing";
  let kvmModules: string[] = [];
  let hvfSupported = false;
  if (platform === "linux") {
    try {
      await access("/dev/kvm", constants.R_OK | constants.W_OK);
      kvmDevice = "usable";
    } catch (e) {
      kvmDevice = (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : "denied";
    }
    try {
      kvmModules = (await readdir("/sys/module")).filter((m) => m.startsWith("kvm_"));
    } catch {
      kvmModules = [];
    }
  } else if (platform === "darwin") {
    hvfSupported =
      spawnSync("sysctl", ["-n", "kern.hv_support"], { encoding: "utf8" }).stdout?.trim() === "1";
  }
  return { platform, hostArch: qemuArchOf(nodeArch()), kvmDevice, kvmModules, hvfSupported };
}
