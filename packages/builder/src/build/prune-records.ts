// Build records (`builds/KEY.json`) and quick no-op records (`builds/quick/QKEY.json`) are small, but one is
// left per distinct command and output directory, for ever. A record that can no longer answer is garbage:
// a build record whose outputs are gone or were rewritten by another build, and a quick record whose build
// record is gone or that an older kiln wrote.

import { readdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { upToDate } from "./incremental.js";
import { QUICK_VERSION, quickRecordPath } from "./quick-noop.js";

export interface PruneRecordsOptions {
  now?: number;
  /** Records younger than this stay: a build may be between writing its outputs and its record. */
  graceMs?: number;
}

/** Remove the records under `cacheDir/builds` that can no longer answer. Returns how many went. */
export async function pruneBuildRecords(cacheDir: string, o: PruneRecordsOptions = {}): Promise<number> {
  const builds = join(cacheDir, "builds");
  const quick = dirname(quickRecordPath(cacheDir, "_"));
  let removed = 0;
  const drop = async (path: string, garbage: () => Promise<boolean>) => {
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile() || (o.now ?? Date.now()) - s.mtimeMs < (o.graceMs ?? 10 * 60_000)) return;
    if (!(await garbage())) return;
    await rm(path, { force: true });
    removed++;
  };
  // Temp files (`.tmp-…`) left by an interrupted write never answer.
  const temp = (name: string) => name.startsWith(".tmp-");
  for (const name of await jsonNames(builds)) {
    const key = name.slice(0, -".json".length);
    await drop(join(builds, name), async () => temp(name) || (await upToDate(cacheDir, key)) === undefined);
  }
  for (const name of await jsonNames(quick)) {
    const path = join(quick, name);
    await drop(path, async () => {
      if (temp(name)) return true;
      const record = await readFile(path, "utf8")
        .then((t) => JSON.parse(t) as { version?: unknown; key?: unknown })
        .catch(() => undefined);
      if (record?.version !== QUICK_VERSION || typeof record.key !== "string") return true;
      return (await upToDate(cacheDir, record.key)) === undefined;
    });
  }
  return removed;
}

async function jsonNames(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith(".json") || n.startsWith(".tmp-"));
}
