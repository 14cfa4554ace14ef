import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** A temp name beside the target, so the final rename never crosses filesystems. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.tmp-${basename(target)}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * Write a temp file beside `target` with `write`, and flush it to disk. On any failure the temp file is
 * removed and the error rethrown; on success its path is returned for the caller to check and rename.
 */
export async function writeTemp(target: string, write: (fh: FileHandle) => Promise<void>): Promise<string> {
  const tmp = tempPathFor(target);
  const fh = await open(tmp, "wx", 0o644);
  try {
    await write(fh);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Move a finished temp file into place, removing it if the rename fails. */
export async function commitTemp(tmp: string, target: string): Promise<void> {
  try {
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Write a whole file so that readers see the old content or the new, never a part. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await commitTemp(await writeTemp(target, (fh) => fh.writeFile(data)), target);
}
