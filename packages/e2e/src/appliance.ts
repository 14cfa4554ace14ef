import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { runKiln } from "./kiln.js";
import { imageCacheDir, REPO_ROOT, resultsDir, testCacheDir } from "./paths.js";
import { recordTiming } from "./timings.js";

/** The outputs of `kiln build -f kernel+initrd,iso-bios,iso-efi examples/minio.yml`. */
export interface Appliance {
  dir: string;
  kernel: string;
  initrd: string;
  cmdline: string;
  iso: string;
  efiIso: string;
}

export const APPLIANCE_YAML = join(REPO_ROOT, "examples", "minio.yml");
const FORMATS = "kernel+initrd,iso-bios,iso-efi";

function outputs(dir: string): Appliance {
  return {
    dir,
    kernel: join(dir, "minio-kernel"),
    initrd: join(dir, "minio-initrd.img"),
    cmdline: join(dir, "minio-cmdline"),
    iso: join(dir, "minio.iso"),
    efiIso: join(dir, "minio-efi.iso"),
  };
}

/**
 * Builds the appliance into one directory shared by every test file and run. kiln's own incremental build makes
 * the second call a no-op while the YAML and its images are unchanged, and rebuilds when kiln or a recipe
 * changes; either way the outputs are renamed into place only when complete.
 */
export async function buildAppliance(timeoutMs = 45 * 60_000): Promise<Appliance> {
  const dir = join(testCacheDir(), "e2e", "appliance");
  await mkdir(dir, { recursive: true });
  await mkdir(imageCacheDir(), { recursive: true });
  await mkdir(resultsDir(), { recursive: true });
  const run = await runKiln(
    ["build", "--cache", imageCacheDir(), "--dir", dir, "--name", "minio", "-f", FORMATS, APPLIANCE_YAML],
    timeoutMs,
    join(resultsDir(), "appliance-build.log"),
  );
  const built = outputs(dir);
  for (const f of [built.kernel, built.initrd, built.cmdline, built.iso, built.efiIso]) {
    if (!existsSync(f)) throw new Error(`kiln build exited 0 but wrote no ${f}:\n${run.stderr}`);
  }
  await recordTiming("appliance-build", run.ms);
  return built;
}
