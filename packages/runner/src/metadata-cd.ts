import { rename, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KilnError } from "@kiln/spec/errors";
import { runTool } from "./tools.js";

/** The metadata CD's volume id: cloud-init's NoCloud label, which LinuxKit's metadata package also reads. */
export const METADATA_VOLUME_ID = "cidata";
/** The file inside, LinuxKit's name for it. */
export const METADATA_FILE = "config";
/** LinuxKit's fixed timestamp, 2017-04-18T16:30:00Z, when SOURCE_DATE_EPOCH is not set. */
const DEFAULT_EPOCH = "1492533000";

/**
 * Write `data` as the single file `config` on an ISO9660 image (volume id `cidata`) at STATE/data.iso,
 * which the guest sees as a CD-ROM. The image is written beside its final name and renamed into place.
 */
export async function createMetadataIso(
  xorriso: string,
  stateDir: string,
  data: Uint8Array,
): Promise<string> {
  const target = join(stateDir, "data.iso");
  const src = join(stateDir, `.data-config-${process.pid}`);
  const tmp = join(stateDir, `.data.iso-${process.pid}`);
  try {
    const epoch = process.env.SOURCE_DATE_EPOCH ?? DEFAULT_EPOCH;
    await writeFile(src, data);
    // xorriso takes the volume's dates from SOURCE_DATE_EPOCH but the file's from the file itself.
    await utimes(src, Number(epoch), Number(epoch));
    const env = { ...process.env, SOURCE_DATE_EPOCH: epoch };
    const args = [
      "-as",
      "mkisofs",
      "-quiet",
      "-r",
      "-J",
      "-V",
      METADATA_VOLUME_ID,
      "-o",
      tmp,
      "-graft-points",
      `/${METADATA_FILE}=${src}`,
    ];
    const r = await runTool(xorriso, args, env);
    if (r.code !== 0) {
      throw new KilnError(
        `could not write the metadata CD with xorriso: ${r.stderr.trim().split("\n").pop()}`,
        {
          hint: "check that the state directory is writable",
        },
      );
    }
    await rename(tmp, target);
    return target;
  } finally {
    await rm(src, { force: true });
    await rm(tmp, { force: true });
  }
}
