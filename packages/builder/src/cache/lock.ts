import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KilnError } from "@kiln/spec";

const STALE_MS = 30_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A lock shared by processes using one cache: `mkdir` is atomic on every local filesystem.
 * Only index.json needs it; blobs are content-addressed and land by rename.
 * A lock whose owner died, or which is older than 30 s, is broken.
 */
export async function withLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const lock = join(dir, ".lock");
  const owner = join(lock, "owner");
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(owner, String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (await stale(lock, owner)) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new KilnError(`timed out waiting for the cache lock ${lock}`, {
          hint: "another kiln is writing to this cache; if none is running, remove the .lock directory",
        });
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function stale(lock: string, owner: string): Promise<boolean> {
  try {
    const pid = Number(await readFile(owner, "utf8"));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) return true;
  } catch {
    // No owner file yet: the holder is between mkdir and writeFile; judge by age alone.
  }
  try {
    return Date.now() - (await stat(lock)).mtimeMs > STALE_MS;
  } catch {
    return false;
  }
}
