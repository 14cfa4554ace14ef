// The kernel and microcode of a kernel image, kept in the cache once extracted. Getting them out of the
// image means decompressing all of its layers (the modules are most of it), which was a third of a warm
// build of a small appliance. They are a function of the image's digest and the `kernel:` settings other
// than the command line, so they are stored under a hash of those, each file with its SHA-256, which is
// checked before every use.

import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { KernelEntry } from "@kiln/spec";
import type { ApplianceImage } from "../assemble/image.js";
import { tempPathFor, writeFileAtomic } from "../cache/atomic.js";
import { imageEntryName } from "../cache/image-entries.js";
import { type BootFiles, extractBoot } from "./context.js";
import { fileSha256 } from "./incremental.js";

const BOOT_VERSION = 1;

interface Stored {
  kernel: string;
  ucode?: string;
}

function keyOf(image: ApplianceImage, k: KernelEntry, mtime: Date): string | undefined {
  if (image.digest === undefined) return undefined;
  const { cmdline: _cmdline, ...settings } = k;
  return createHash("sha256")
    .update(JSON.stringify({ boot: BOOT_VERSION, image: image.digest, settings, mtime: mtime.getTime() }))
    .digest("hex");
}

async function fromCache(entry: string, dir: string, cmdline: string): Promise<BootFiles | undefined> {
  let stored: Stored;
  try {
    stored = JSON.parse(await readFile(join(entry, "sums.json"), "utf8")) as Stored;
  } catch {
    return undefined;
  }
  const out: BootFiles = { kernel: join(dir, "kernel"), cmdline };
  const files: Array<[keyof Stored, string]> = [["kernel", out.kernel]];
  if (stored.ucode !== undefined) {
    out.ucode = join(dir, "ucode.cpio");
    files.push(["ucode", out.ucode]);
  }
  for (const [name, target] of files) {
    const source = join(entry, name);
    try {
      await copyFile(source, target);
    } catch {
      return undefined;
    }
    // The copy is what the build reads, so the copy is what is checked.
    if ((await fileSha256(target)) !== stored[name]) {
      await rm(entry, { recursive: true, force: true });
      return undefined;
    }
  }
  return out;
}

/**
 * `extractBoot`, through the cache at `cacheDir/boot`: the files land in `dir` either way, with the same
 * bytes.
 */
export async function cachedBoot(
  cacheDir: string,
  image: ApplianceImage,
  k: KernelEntry,
  dir: string,
  mtime: Date,
  signal?: AbortSignal,
): Promise<BootFiles> {
  const key = keyOf(image, k, mtime);
  // Named after the image too, so `kiln cache gc` can drop the entries of images that are gone.
  const entry = key === undefined ? undefined : join(cacheDir, "boot", imageEntryName(image.digest!, key));
  if (entry) {
    const hit = await fromCache(entry, dir, k.cmdline ?? "");
    if (hit) return hit;
  }
  const boot = await extractBoot(image, k, dir, mtime, signal);
  if (!entry) return boot;
  // Stored as a directory made under a temp name and renamed whole, so readers never see half of it.
  const tmp = tempPathFor(entry);
  try {
    await mkdir(tmp, { recursive: true });
    const stored: Stored = { kernel: await fileSha256(boot.kernel) };
    await copyFile(boot.kernel, join(tmp, "kernel"));
    if (boot.ucode !== undefined) {
      stored.ucode = await fileSha256(boot.ucode);
      await copyFile(boot.ucode, join(tmp, "ucode"));
    }
    await writeFileAtomic(join(tmp, "sums.json"), JSON.stringify(stored));
    await rm(entry, { recursive: true, force: true });
    await rename(tmp, entry);
  } catch {
    // Only the cache entry is lost; the build has its files.
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return boot;
}
