// Ctrl-C at any moment of `kiln build` leaves either every output, complete, or none of them, and never a
// temp file: 24 real `kiln build` processes interrupted at random points.

import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { OciCache } from "@kiln/builder";
import { INIT_IMAGE, kernelImage, type LayerEntry, putImage } from "@kiln/builder/testing";
import { beforeAll, describe, expect, test } from "vitest";

const BIN = join(__dirname, "../dist/main.js");
const FORMATS = "kernel+initrd,tar-kernel-initrd";
const OUTPUTS = ["big-cmdline", "big-initrd.img", "big-initrd.tar", "big-kernel"];
const TRIALS = 24;
// Trials that must really stop a build part-way. Build times swing with the machine's load, so trials go on
// (up to MAX_TRIALS) until this many did, each finished build shrinking the window signals are sent in.
const STOPPED_TRIALS = 12;
const MAX_TRIALS = 60;
// Cache entries a finished build leaves, which would make the next trial a copy (a warm initrd is written
// in a tenth of the time), leaving no window to interrupt it in.
const WARM_ENTRIES = ["initrd-pieces", "boot", "builds"];

let root: string;
let cacheDir: string;
let yml: string;
let reference: Map<string, string>;
let referenceMs: number;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

function build(
  dir: string,
  env: NodeJS.ProcessEnv,
  interrupt?: { afterMs: number; signal: NodeJS.Signals },
): Promise<Run> {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [BIN, "build", "--cache", cacheDir, "--dir", dir, "-f", FORMATS, yml],
    {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = interrupt ? setTimeout(() => child.kill(interrupt.signal), interrupt.afterMs) : undefined;
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    });
  });
}

async function tempFilesIn(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  return names.filter((n) => basename(n).startsWith(".tmp-"));
}

const sha = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

/** Text-like bytes: gzip has real work to do, so the build lasts long enough to be interrupted. */
function payload(size: number): Buffer {
  const words = ["kiln", "appliance", "initrd", "gzip", "cpio", "linuxkit", "\n"];
  const parts: string[] = [];
  let n = 0;
  let seed = 7;
  while (n < size) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const w = words[seed % words.length]!;
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kiln-interrupt-"));
  cacheDir = join(root, "cache");
  const cache = await OciCache.open(cacheDir);
  await putImage(
    cache,
    "example.com/kiln/kernel:1",
    await kernelImage({ kernel: randomBytes(1 << 20).toString("latin1") }),
  );
  await putImage(cache, "example.com/kiln/init:1", INIT_IMAGE);
  const data: LayerEntry[] = [{ name: "data/", type: "directory" }];
  for (let i = 0; i < 12; i++) data.push({ name: `data/blob-${i}`, content: payload(2 * 1024 * 1024) });
  await putImage(cache, "example.com/kiln/data:1", { layers: [data] });
  yml = join(root, "big.yml");
  await writeFile(
    yml,
    "kernel:\n  image: example.com/kiln/kernel:1\n  cmdline: console=ttyS0\ninit:\n  - example.com/kiln/init:1\n  - example.com/kiln/data:1\n",
  );
  const dir = join(root, "reference");
  const r = await build(dir, {});
  expect(r.code, r.stderr).toBe(0);
  referenceMs = r.ms;
  reference = new Map();
  for (const f of OUTPUTS) reference.set(f, await sha(join(dir, f)));
}, 600_000);

describe("an interrupted kiln build", () => {
  test(`never leaves a partial output or a temp file (${TRIALS} trials, SIGINT and SIGTERM at random points)`, async () => {
    const outcomes: string[] = [];
    let stopped = 0;
    for (let i = 0; i < MAX_TRIALS && (i < TRIALS || stopped < STOPPED_TRIALS); i++) {
      const dir = join(root, `trial-${i}`);
      const tmp = join(root, `tmp-${i}`);
      await mkdir(tmp);
      for (const e of WARM_ENTRIES) await rm(join(cacheDir, e), { recursive: true, force: true });
      // A quarter anywhere (node still starting, too), the rest while the build writes.
      const window = i % 4 === 0 ? [0, 1.1] : [0.35, 1.05];
      const afterMs = Math.floor(referenceMs * (window[0]! + Math.random() * (window[1]! - window[0]!)));
      const signal: NodeJS.Signals = i % 4 === 3 ? "SIGTERM" : "SIGINT";
      const r = await build(dir, { TMPDIR: tmp }, { afterMs, signal });
      const left = existsSync(dir) ? (await readdir(dir)).sort() : [];
      expect(await readdir(tmp), `trial ${i}: temp files`).toEqual([]);
      expect(await tempFilesIn(cacheDir), `trial ${i}: temp files in the cache`).toEqual([]);
      // The signal came after the outputs were complete: all of them, with the reference bytes. It may even
      // have come once the handlers were gone and node was exiting, and killed it.
      const finished = r.code === 0 || (r.signal === signal && r.stderr.includes("kiln: built in"));
      if (finished) {
        expect(left, `trial ${i}: ${r.code} ${r.signal}\n${r.stderr}`).toEqual(OUTPUTS);
        for (const f of OUTPUTS) expect(await sha(join(dir, f)), `trial ${i}: ${f}`).toBe(reference.get(f));
        outcomes.push(
          `${afterMs}ms ${signal}: finished${r.code === 0 ? "" : `, then killed by ${r.signal}`}`,
        );
        referenceMs = Math.min(referenceMs, Math.floor(afterMs * 0.9));
      } else {
        // Stopped: exit 130 once the handlers are in, or the signal's default before node got that far.
        expect(r.code === 130 || r.signal === signal, `trial ${i}: ${r.code} ${r.signal}\n${r.stderr}`).toBe(
          true,
        );
        expect(left, `trial ${i}: ${r.stderr}`).toEqual([]);
        if (r.code === 130) expect(r.stderr).toContain("kiln: build interrupted; no outputs were written");
        outcomes.push(
          `${afterMs}ms ${signal}: ${r.code === 130 ? "stopped, cleaned up" : `killed by ${r.signal}`}`,
        );
        if (r.code === 130) stopped++;
      }
    }
    console.log(`reference build: ${referenceMs} ms\n${outcomes.join("\n")}`);
    // Most trials must really have been stopped part-way, or this test proves nothing.
    expect(outcomes.length).toBeGreaterThanOrEqual(TRIALS);
    expect(stopped).toBeGreaterThanOrEqual(STOPPED_TRIALS);
    // What the last interrupted build left in the cache is whole or absent: a build from it is the same.
    const after = join(root, "after");
    const r = await build(after, {});
    expect(r.code, r.stderr).toBe(0);
    for (const f of OUTPUTS) expect(await sha(join(after, f)), f).toBe(reference.get(f));
  });
});
