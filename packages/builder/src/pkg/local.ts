// Local inputs: files and directory trees next to the recipe, and local Go modules. Walked in path order;
// hashed for the tag by what ends up in the image (type, the executable bit, bytes or link target).

import { lstat, readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { compareBytes, KilnError } from "@kiln/spec";
import { fileSha256 } from "./apt.js";

export interface LocalEntry {
  /** Relative to the walked root, POSIX separators; "" for the root itself. */
  rel: string;
  abs: string;
  type: "file" | "directory" | "symlink";
  executable: boolean;
  size: number;
  target?: string;
}

/**
 * Every entry under `root` (root included), sorted by path. `skip` prunes by relative path. Symlinks are
 * entries, not followed; with `followRoot`, a root that is a symlink is read through (as `go build` reads
 * a module directory).
 */
export async function walkLocal(
  root: string,
  skip?: (rel: string) => boolean,
  o: { followRoot?: boolean } = {},
): Promise<LocalEntry[]> {
  const out: LocalEntry[] = [];
  const visit = async (abs: string, rel: string): Promise<void> => {
    const s = rel === "" && o.followRoot ? await stat(abs) : await lstat(abs);
    if (s.isSymbolicLink()) {
      out.push({ rel, abs, type: "symlink", executable: false, size: 0, target: await readlink(abs) });
    } else if (s.isDirectory()) {
      out.push({ rel, abs, type: "directory", executable: true, size: 0 });
      const names = (await readdir(abs)).sort(compareBytes);
      for (const name of names) {
        const childRel = rel === "" ? name : `${rel}/${name}`;
        if (!skip?.(childRel)) await visit(join(abs, name), childRel);
      }
    } else if (s.isFile()) {
      out.push({ rel, abs, type: "file", executable: (s.mode & 0o111) !== 0, size: s.size });
    } else {
      throw new KilnError(`${abs} is neither a file, a directory nor a symlink`, {
        hint: "package recipes can copy only those; remove it or move it out of the tree",
      });
    }
  };
  await visit(root, "");
  return out;
}

/** Module directories a Go module pulls in with `replace ... => ../dir`. */
export async function localReplacements(moduleDir: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(moduleDir, "go.mod"), "utf8");
  } catch {
    return [];
  }
  // `go build` runs in the module directory and resolves from where it really is (getcwd), not via a link.
  const base = await realpath(moduleDir);
  const dirs: string[] = [];
  for (const raw of text.split("\n")) {
    // A replacement's target is the last field, before any comment; a path may be quoted.
    const line = raw.replace(/\/\/.*$/, "").trim();
    const m = /=>\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\S+)$/.exec(line);
    if (!m) continue;
    const target = /^["`]/.test(m[1]!) ? m[1]!.slice(1, -1).replace(/\\(.)/g, "$1") : m[1]!;
    // Go takes a target as a directory when it is absolute or starts with ./ or ../; else it is a module.
    if (/^(\.{1,2}\/|\/)/.test(target) || target === "." || target === "..") dirs.push(resolve(base, target));
  }
  return dirs;
}

/** The lines a tree contributes to the tag, named relative to `base` (the recipe directory). */
export async function hashLines(
  root: string,
  base: string,
  skip?: (rel: string) => boolean,
  o: { followRoot?: boolean } = {},
): Promise<string[]> {
  const lines: string[] = [];
  for (const e of await walkLocal(root, skip, o)) {
    const name = relative(base, e.abs).split(sep).join("/") || ".";
    if (e.type === "symlink") lines.push(`local ${name} symlink ${e.target}`);
    else if (e.type === "directory") lines.push(`local ${name} dir`);
    else lines.push(`local ${name} ${e.executable ? "0755" : "0644"} ${await fileSha256(e.abs)}`);
  }
  return lines;
}

/** Version control metadata and editor droppings in a Go module do not change what `go build` makes. */
export function goSkip(rel: string): boolean {
  const base = rel.slice(rel.lastIndexOf("/") + 1);
  return base === ".git" || base === ".hg" || base === ".svn";
}
