// onboot, onshutdown and services: one OCI bundle each (config.json, runtime.json, and the image's root
// filesystem, unpacked once per image), laid out as LinuxKit's ImageBundle does.

import { createHash } from "node:crypto";
import type { Bundle } from "@kiln/spec";
import type { FlatEntry } from "../flatten/entry.js";
import { directory, type Origin, parentDirectories, regularFile } from "./entries.js";
import type { ApplianceImage } from "./image.js";
import { unpackImage } from "./unpack.js";

/** A run of the appliance's entries (see `assembleSegments`). */
export interface Segment {
  /**
   * Set when the entries outside `boot/` (what the initrd holds) are a function of a few images and fixed
   * values alone: `image` is the manifest digest of the (first) image, `id` a hash of everything that
   * shapes the entries' paths, modes, times and contents, digests included; `layerBytes` the images'
   * compressed size. The `LINUXKIT.location` tags are not covered (the initrd does not hold them).
   */
  key?: { image: string; id: string; layerBytes: number };
  entries(): AsyncIterable<FlatEntry>;
}

/** Bumped whenever unpacking writes different entries for the same image. */
const UNPACK_VERSION = 1;

/** Each bundle as two runs: the image's root filesystem (keyed by its image), then config and mount points. */
export function* bundleSegments(
  bundles: readonly Bundle[],
  image: (ref: string) => ApplianceImage,
  mtime: Date,
  signal?: AbortSignal,
): Generator<Segment> {
  for (const b of bundles) {
    const img = image(b.image);
    const location = `${b.section}[${b.index}]`;
    if (b.unpacksImage) {
      const root = b.placement.root;
      const entries = () =>
        unpackImage(img, { prefix: root, location, mtime, ...(signal ? { signal } : {}) });
      if (img.digest === undefined) yield { entries };
      else {
        const id = createHash("sha256")
          .update(JSON.stringify({ unpack: UNPACK_VERSION, image: img.digest, root, mtime: mtime.getTime() }))
          .digest("hex");
        yield { key: { image: img.digest, id, layerBytes: img.layerBytes ?? 0 }, entries };
      }
    }
    yield { entries: () => bundleFiles(b, img, mtime) };
  }
}

async function* bundleFiles(b: Bundle, img: ApplianceImage, mtime: Date): AsyncGenerator<FlatEntry> {
  const origin: Origin = { source: img.source, location: `${b.section}[${b.index}]` };
  const { prefix, readonly } = b.placement;
  if (!b.unpacksImage) yield* parentDirectories(prefix, mtime, origin);
  yield regularFile(`${prefix}/config.json`, Buffer.from(b.configJson), mtime, origin);
  if (!readonly) {
    // Mount points for the tmpfs holding the overlay's upper layer, and for the overlay itself.
    yield directory(`${prefix}/tmp`, mtime, origin);
    yield directory(`${prefix}/rootfs`, mtime, origin);
  } else if (!b.unpacksImage) {
    yield directory(`${prefix}/rootfs`, mtime, origin);
  }
  yield regularFile(`${prefix}/runtime.json`, Buffer.from(b.runtimeJson), mtime, origin);
}

/** Every bundle's entries, in order. */
export async function* bundleEntries(
  bundles: readonly Bundle[],
  image: (ref: string) => ApplianceImage,
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<FlatEntry> {
  for (const segment of bundleSegments(bundles, image, mtime, signal)) yield* segment.entries();
}
