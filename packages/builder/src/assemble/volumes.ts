// `volumes:`: containers/volumes/NAME/{lower,tmp,merged}, with the image (if any) unpacked into lower/.

import { KilnError, type VolumeEntry } from "@kiln/spec";
import type { FlatEntry } from "../flatten/entry.js";
import { directory, type Origin, parentDirectories } from "./entries.js";
import type { ApplianceImage } from "./image.js";
import { RESOLV_CONF_LINK, unpackImage } from "./unpack.js";

const VOLUMES_SOURCE = "linuxkit.volumes";

export async function* volumeEntries(
  volumes: readonly VolumeEntry[],
  image: (ref: string) => ApplianceImage,
  mtime: Date,
  signal?: AbortSignal,
): AsyncGenerator<FlatEntry> {
  for (const [i, v] of volumes.entries()) {
    const location = `volume[${i}]`;
    const base = `containers/volumes/${v.name}`;
    if (v.image === undefined) {
      yield* parentDirectories(`${base}/lower`, mtime, { source: "empty", location });
    } else if (v.format === "oci") {
      throw new KilnError(`volumes[${i}] (${v.name}): \`format: oci\` volumes are not supported yet`, {
        hint: "use `format: filesystem` (the default) to unpack the image into the volume",
      });
    } else {
      yield* unpackImage(image(v.image), {
        prefix: `${base}/lower`,
        location,
        resolvConfLink: RESOLV_CONF_LINK,
        mtime,
        ...(signal ? { signal } : {}),
      });
    }
    const origin: Origin = { source: VOLUMES_SOURCE, location };
    yield directory(`${base}/tmp`, mtime, origin);
    yield directory(`${base}/merged`, mtime, origin);
  }
}
