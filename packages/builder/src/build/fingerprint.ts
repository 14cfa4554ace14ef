// What "the same kiln" means for incremental builds: the code that decides an output's bytes. A version
// number alone would keep serving stale outputs after a fix in a development tree, so the build key also
// hashes the builder's and the spec package's own code (about a hundred small files: a few milliseconds).

import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const CODE = /\.(js|ts|mjs)$/;
const SKIP = /(\.d\.ts|\.test\.ts|\.map)$|(^|\/)(testdata|testing)(\/|$)/;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      if (!SKIP.test(d.name)) out.push(...(await files(p)));
    } else if (CODE.test(d.name) && !SKIP.test(p)) out.push(p);
  }
  return out;
}

async function hashTree(root: string, hash: ReturnType<typeof createHash>): Promise<void> {
  for (const f of (await files(root)).sort()) {
    hash.update(`${relative(root, f)}\0`);
    hash.update(await readFile(f));
  }
}

let memo: Promise<string> | undefined;

/** A hash of the builder's and spec's code as installed (dist/ when built, src/ when run from source). */
export function codeFingerprint(): Promise<string> {
  memo ??= (async () => {
    const hash = createHash("sha256");
    await hashTree(dirname(dirname(fileURLToPath(import.meta.url))), hash);
    try {
      await hashTree(dirname(createRequire(import.meta.url).resolve("@kiln/spec")), hash);
    } catch {
      // spec cannot be located from here (a bundled kiln): the builder's code and the version still count
    }
    return hash.digest("hex");
  })();
  return memo;
}
