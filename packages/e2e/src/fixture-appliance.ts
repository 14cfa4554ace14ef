import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StartVmOptions, startVm, type Vm } from "@kiln/runner";
import { runKiln } from "./kiln.js";
import { imageCacheDir, resultsDir, testCacheDir } from "./paths.js";
import { recordTiming } from "./timings.js";

/** packages/e2e/src/fixtures: the small appliance YAMLs the base-image tests boot. */
export const FIXTURES_DIR = fileURLToPath(new URL("fixtures/", import.meta.url));

/** The kernel+initrd outputs of one fixture: `prefix` is what `startVm({prefix})` boots. */
export interface FixtureAppliance {
  name: string;
  prefix: string;
}

/**
 * `kiln build -f kernel+initrd fixtures/NAME.yml` into a directory kept between runs, with the image cache the
 * MinIO suite shares: the images build once per CI run, and an unchanged fixture is a no-op build.
 */
export async function buildFixture(name: string, timeoutMs = 45 * 60_000): Promise<FixtureAppliance> {
  const dir = join(testCacheDir(), "e2e", "fixtures", name);
  await mkdir(dir, { recursive: true });
  await mkdir(imageCacheDir(), { recursive: true });
  await mkdir(resultsDir(), { recursive: true });
  const run = await runKiln(
    [
      "build",
      "--cache",
      imageCacheDir(),
      "--dir",
      dir,
      "--name",
      name,
      "-f",
      "kernel+initrd",
      join(FIXTURES_DIR, `${name}.yml`),
    ],
    timeoutMs,
    join(resultsDir(), `${name}-build.log`),
  );
  const prefix = join(dir, name);
  for (const f of [`${prefix}-kernel`, `${prefix}-initrd.img`, `${prefix}-cmdline`]) {
    if (!existsSync(f)) throw new Error(`kiln build exited 0 but wrote no ${f}:\n${run.stderr}`);
  }
  await recordTiming("fixture-build", run.ms, name);
  return { name, prefix };
}

/** A booted fixture whose console is saved, and attached to any failure, by `check`. */
export interface FixtureVm extends AsyncDisposable {
  vm: Vm;
  label: string;
  /** Runs `fn`; a failure carries the console's tail and the whole console is written to test-results/e2e/. */
  check<T>(fn: () => Promise<T> | T): Promise<T>;
  saveConsole(): Promise<string>;
}

/**
 * Boots a fixture under QEMU (TCG here) with user networking restricted to nothing, its console captured.
 * `label` names the console log under test-results/e2e/.
 */
export async function bootFixture(
  fixture: FixtureAppliance,
  label: string,
  options: Omit<StartVmOptions, "prefix" | "image" | "iso" | "disk"> = {},
): Promise<FixtureVm> {
  const vm = await startVm({
    prefix: fixture.prefix,
    mem: 1024,
    cpus: 1,
    restrict: true,
    console: "capture",
    ...options,
  });
  const saveConsole = async () => {
    await mkdir(resultsDir(), { recursive: true });
    const file = join(resultsDir(), `${label}.console.log`);
    await writeFile(file, vm.console);
    return file;
  };
  return {
    vm,
    label,
    saveConsole,
    async check<T>(fn: () => Promise<T> | T): Promise<T> {
      try {
        return await fn();
      } catch (err) {
        let file = "(could not write the console log)";
        try {
          file = await saveConsole();
        } catch {}
        const tail = vm.console.trimEnd().split("\n").slice(-40).join("\n");
        const note = `\n--- ${label}: last console lines (full log: ${file}) ---\n${tail}\n---`;
        if (err instanceof Error) {
          err.message += note;
          throw err;
        }
        throw new Error(`${String(err)}${note}`);
      }
    },
    async [Symbol.asyncDispose]() {
      await saveConsole().catch(() => {});
      await vm[Symbol.asyncDispose]();
    },
  };
}

/**
 * Where each pattern first matches in `text`, each searched after the previous match, so the result says the
 * lines appeared in this order. Throws naming the first pattern that is missing (or only appears too early).
 */
export function inOrder(text: string, patterns: readonly RegExp[]): number[] {
  const at: number[] = [];
  let from = 0;
  for (const p of patterns) {
    const re = new RegExp(p.source, p.flags.replace(/[gy]/g, ""));
    const m = re.exec(text.slice(from));
    if (m === null) {
      const anywhere = re.test(text);
      throw new Error(
        anywhere
          ? `${p} appeared on the console, but not after ${at.length ? patterns[at.length - 1] : "the start"}`
          : `${p} never appeared on the console`,
      );
    }
    from += m.index + m[0].length;
    at.push(from - m[0].length);
  }
  return at;
}

/** How many times `pattern` matches in `text`. */
export function countMatches(text: string, pattern: RegExp): number {
  const flags = pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`;
  return [...text.matchAll(new RegExp(pattern.source, flags))].length;
}
