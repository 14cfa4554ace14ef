import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Shared across runs and test files so CI fetches and builds each image once. */
export function testCacheDir(): string {
  return process.env.KILN_TEST_CACHE ?? "/tmp/kiln-test";
}

/** kiln's image cache for the suite (`--cache`). */
export function imageCacheDir(): string {
  return join(testCacheDir(), "cache");
}

/** Console logs of failed boots, timings: kept after the run, next to the reporters' output. */
export function resultsDir(): string {
  return join(REPO_ROOT, "test-results", "e2e");
}
