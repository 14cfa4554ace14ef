import { createHash } from "node:crypto";
import { KilnError } from "@kiln/spec";

const SHA256 = /^sha256:[a-f0-9]{64}$/;

export function assertDigest(digest: string): string {
  if (!SHA256.test(digest)) {
    throw new KilnError(`unsupported or malformed digest "${digest}"`, {
      hint: "kiln stores sha256 digests only",
    });
  }
  return digest.slice("sha256:".length);
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** A blob did not match its descriptor: never stored, always reported with both digests. */
export class DigestMismatchError extends KilnError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly what: string,
  ) {
    super(`${what}: content does not match its digest (expected ${expected}, got ${actual})`, {
      hint: "the download was corrupted or the source is lying; it was not stored. Try again, or check the registry",
    });
    this.name = "DigestMismatchError";
  }
}
