// onboot, onshutdown and services: one OCI bundle each (config.json, runtime.json, and the image's root
// filesystem, unpacked once per image), laid out as LinuxKit's ImageBundle does.

import type { Bundle } from "@kiln/spec";
import type { FlatEntry } from "../flatten/entry.js";
import { directory, type Origin, parentDirectories, regularFile } from "./entries.js";
import type { ApplianceImage } from "./image.js";
import { unpackImage } from "./unpack.js";

export async function* bundleEntries(
  bundles: readonly Bundle[],
  image: (ref: string) => ApplianceImage,
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<FlatEntry> {
  for (const b of bundles) {
    const img = image(b.image);
    const origin: Origin = { source: img.source, location: `${b.section}[${b.index}]` };
    const { prefix, readonly, root } = b.placement;
    if (b.unpacksImage) {
      yield* unpackImage(img, {
        prefix: root,
        location: origin.location,
        mtime,
        ...(signal ? { signal } : {}),
      });
    } else {
      yield* parentDirectories(prefix, mtime, origin);
    }
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
}
