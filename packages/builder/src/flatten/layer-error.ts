// Errors about one layer's contents, all worded the same way.

import { KilnError } from "@kiln/spec";

export const HOSTILE_HINT = "the image is malformed or hostile; rebuild it or use another image";
export const CORRUPT_HINT = "the layer is corrupt, truncated or still compressed; pull the image again";

/** "sha256:0123456789ab…": enough to find the layer, short enough to read. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  const hex = colon === -1 ? digest : digest.slice(colon + 1);
  return hex.length > 12 ? `${digest.slice(0, colon + 1)}${hex.slice(0, 12)}…` : digest;
}

/** `layer sha256:abc…: MESSAGE`, with the hint that the image itself is at fault. */
export function layerError(digest: string, message: string, hint = HOSTILE_HINT, cause?: unknown): KilnError {
  return new KilnError(
    `layer ${shortDigest(digest)}: ${message}`,
    cause === undefined ? { hint } : { hint, cause },
  );
}
