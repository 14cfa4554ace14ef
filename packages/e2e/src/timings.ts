import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { resultsDir } from "./paths.js";

/**
 * Appends one wall-clock measurement (a build, a boot, a test) to test-results/e2e/timings.jsonl, the source of
 * the e2e figures in docs/benchmarks.md.
 */
export async function recordTiming(phase: string, ms: number, detail?: string): Promise<void> {
  await mkdir(resultsDir(), { recursive: true });
  const line = JSON.stringify({
    at: new Date().toISOString(),
    phase,
    seconds: +(ms / 1000).toFixed(1),
    detail,
  });
  await appendFile(join(resultsDir(), "timings.jsonl"), `${line}\n`);
}
