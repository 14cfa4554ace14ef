// Inputs are linked into the writer's work directory under the names they get in the image, so a tool
// can copy a whole directory's worth in one call and the builder container mounts only that directory.

import { copyFile, link, mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export async function stageFile(source: string, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  // A hard link costs nothing; across filesystems (or where links are refused) a copy does the same job.
  await link(source, dest).catch(() => copyFile(source, dest));
}

export async function stageText(dest: string, text: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await writeFile(dest, text);
}
