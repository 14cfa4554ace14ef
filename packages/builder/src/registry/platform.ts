import { KilnError } from "@kiln/spec";
import type { Descriptor } from "../oci/types.js";

/** OCI architecture names for Node's `process.arch`. */
export function hostArch(arch: string = process.arch): string {
  const map: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    s390x: "s390x",
    ppc64: "ppc64le",
    riscv64: "riscv64",
  };
  return map[arch] ?? arch;
}

/** The image exists but not for the requested architecture: final, whatever the cache or registry holds. */
export class PlatformNotFoundError extends KilnError {
  constructor(message: string, hint: string) {
    super(message, { hint });
    this.name = "PlatformNotFoundError";
  }
}

/**
 * Pick `linux/<arch>` from an index. Like LinuxKit, the variant is ignored (`arm64` matches `arm64/v8`).
 */
export function selectPlatform(manifests: readonly Descriptor[], arch: string, what: string): Descriptor {
  const found = manifests.find((d) => d.platform?.os === "linux" && d.platform.architecture === arch);
  if (found) return found;
  const offered = manifests
    .map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}` : undefined))
    .filter((p) => p && p !== "unknown/unknown");
  throw new PlatformNotFoundError(
    `${what} has no linux/${arch} image (it has ${offered.join(", ") || "no platforms"})`,
    "pick another image, or build for an architecture it has with --arch",
  );
}
