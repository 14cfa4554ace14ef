// The `files:` section, applied in order on top of what the packages and programs put in the tree.

import { walkLocal } from "./local.js";
import type { FileSpec, Recipe } from "./recipe.js";
import { type ImageTree, readBody } from "./tree.js";

const DIR = { type: "directory" as const, uid: 0, gid: 0 };

function join(dst: string, rel: string): string {
  if (rel === "") return dst;
  return dst === "" ? rel : `${dst}/${rel}`;
}

async function copy(tree: ImageTree, f: Extract<FileSpec, { kind: "copy" }>, what: string): Promise<void> {
  for (const e of await walkLocal(f.src)) {
    const path = join(f.dst, e.rel);
    if (e.type === "directory") {
      if (path !== "") tree.add(path, { ...DIR, mode: 0o755 }, what);
    } else if (e.type === "symlink") {
      tree.add(path, { type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: e.target! }, what);
    } else {
      const mode = f.mode ?? (e.executable ? 0o755 : 0o644);
      tree.add(
        path,
        { type: "file", mode, uid: 0, gid: 0, inode: { body: { kind: "file", path: e.abs, size: e.size } } },
        what,
      );
    }
  }
}

/** What Debian's update-ca-certificates would write: each matching file in path order, newline-terminated. */
async function concat(
  tree: ImageTree,
  recipe: Recipe,
  f: Extract<FileSpec, { kind: "concat" }>,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const path of tree.under(f.dir)) {
    const node = tree.get(path)!;
    if (!node.inode || !path.endsWith(f.suffix)) continue;
    const data = await readBody(node.inode.body);
    parts.push(data);
    if (data.length > 0 && data[data.length - 1] !== 0x0a) parts.push(Buffer.from("\n"));
  }
  if (parts.length === 0) {
    throw recipe.fail(
      [...f.at, "concat"],
      `no file under /${f.dir} ends in "${f.suffix}" at this point`,
      "install the package that provides them (e.g. ca-certificates) or put this entry after the one adding them",
    );
  }
  return Buffer.concat(parts);
}

export async function applyFiles(tree: ImageTree, recipe: Recipe): Promise<void> {
  for (const f of recipe.files) {
    const what = `${recipe.file}: files.${f.at[1]}`;
    switch (f.kind) {
      case "copy":
        await copy(tree, f, what);
        break;
      case "contents":
        tree.add(
          f.dst,
          {
            type: "file",
            mode: f.mode ?? 0o644,
            uid: 0,
            gid: 0,
            inode: { body: { kind: "bytes", data: Buffer.from(f.contents, "utf8") } },
          },
          what,
        );
        break;
      case "directory":
        tree.add(f.dst, { ...DIR, mode: f.mode ?? 0o755 }, what);
        break;
      case "symlink":
        tree.add(f.dst, { type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: f.target }, what);
        break;
      case "concat": {
        const data = await concat(tree, recipe, f);
        tree.add(
          f.dst,
          { type: "file", mode: f.mode ?? 0o644, uid: 0, gid: 0, inode: { body: { kind: "bytes", data } } },
          what,
        );
        break;
      }
    }
  }
}
