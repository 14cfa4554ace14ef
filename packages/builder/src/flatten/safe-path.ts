// Path checks for layer entries: what a layer may name, and where its links may point.
//
// The decision, and why. Flattening never writes anything itself; it hands out a stream of entries, and
// whoever writes them (a tar, a cpio, a directory for mksquashfs) must be able to trust every path in it
// without resolving anything. So:
//
// - Entry paths and hardlink targets are archive paths. Absolute ones and ones with ".." components are
//   rejected outright: no legitimate layer writer produces them, and a naive extractor would write outside
//   its target.
// - A symlink's target is only resolved at run time, inside the container's root, where "/" is the image
//   root and ".." at the root stays at the root. So absolute targets ("/usr/bin/x") are fine: they point
//   inside the image. A relative target that climbs above the root ("../../etc" from "a/b") is rejected
//   anyway: it means nothing inside a container, and it is the classic way to lure an extractor that
//   follows links out of its target directory.
// - The builder never follows a symlink. An entry whose parent is a symlink recorded earlier (in the same
//   layer or a lower one) would be written *through* that link by any extractor, so it is rejected
//   (see tree.ts), as is a hardlink whose target is missing, a directory, or outside the root.

import { layerError } from "./layer-error.js";

type Split = { parts: string[] } | { problem: string };

function split(raw: string): Split {
  if (raw.includes("\0")) return { problem: "contains a NUL byte" };
  if (raw.startsWith("/")) return { problem: "is an absolute path" };
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") return { problem: "climbs out of the image root" };
    parts.push(part);
  }
  return { parts };
}

/**
 * The form entries use: "./usr//bin/" → "usr/bin". The root itself ("./", ".") gives "".
 * Throws a KilnError naming the layer and the entry for absolute paths, ".." components and NUL bytes.
 */
export function normaliseLayerPath(raw: string, digest: string): string {
  const result = split(raw);
  if ("problem" in result) throw layerError(digest, `entry ${JSON.stringify(raw)} ${result.problem}`);
  return result.parts.join("/");
}

/** A hardlink's target, normalised like an entry path; throws if it points outside the image root. */
export function normaliseLinkTarget(entryPath: string, raw: string, digest: string): string {
  const result = split(raw);
  if ("problem" in result || result.parts.length === 0) {
    const problem = "problem" in result ? result.problem : "is the image root";
    throw layerError(digest, `hardlink "${entryPath}" → ${JSON.stringify(raw)}: the target ${problem}`);
  }
  return result.parts.join("/");
}

/**
 * Whether a symlink at `linkPath` (normalised) with this target climbs above the image root when resolved
 * from the link's directory. Absolute targets never do: they are resolved inside the image root.
 * Purely lexical, since nothing on disk is consulted and nothing is followed.
 */
export function symlinkEscapes(linkPath: string, target: string): boolean {
  if (target.startsWith("/")) return false;
  let depth = linkPath.split("/").length - 1; // components of the link's directory
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      depth--;
      if (depth < 0) return true;
    } else {
      depth++;
    }
  }
  return false;
}
