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

/** A code tree as the fingerprint reads it: its code files, and every directory walked to find them. */
export interface CodeTree {
  root: string;
  files: string[];
  dirs: string[];
}

/** The code files under `root` (sorted) and the directories listed on the way. */
export async function listCode(root: string): Promise<CodeTree> {
  const tree: CodeTree = { root, files: [], dirs: [] };
  const visit = async (dir: string): Promise<void> => {
    tree.dirs.push(dir);
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      if (d.isDirectory()) {
        if (!SKIP.test(d.name)) await visit(p);
      } else if (CODE.test(d.name) && !SKIP.test(p)) tree.files.push(p);
    }
  };
  await visit(root);
  tree.files.sort();
  return tree;
}

async function hashTree(tree: CodeTree, hash: ReturnType<typeof createHash>): Promise<void> {
  for (const f of tree.files) {
    hash.update(`${relative(tree.root, f)}\0`);
    hash.update(await readFile(f));
  }
}

let memo: Promise<{ hash: string; trees: CodeTree[] }> | undefined;

function fingerprint(): Promise<{ hash: string; trees: CodeTree[] }> {
  memo ??= (async () => {
    const hash = createHash("sha256");
    const trees = [await listCode(dirname(dirname(fileURLToPath(import.meta.url))))];
    try {
      trees.push(await listCode(dirname(createRequire(import.meta.url).resolve("@kiln/spec"))));
    } catch {
      // spec cannot be located from here (a bundled kiln): the builder's code and the version still count
    }
    for (const t of trees) await hashTree(t, hash);
    return { hash: hash.digest("hex"), trees };
  })();
  return memo;
}

/** A hash of the builder's and spec's code as installed (dist/ when built, src/ when run from source). */
export async function codeFingerprint(): Promise<string> {
  return (await fingerprint()).hash;
}

/** The trees `codeFingerprint` hashed: what a quick no-op check must find unchanged. */
export async function codeTrees(): Promise<CodeTree[]> {
  return (await fingerprint()).trees;
}
