// `files:`: extra files, directories and symlinks, each with its leading directories, as LinuxKit adds them.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { type FileEntry, KilnError, parseMode, resolveId } from "@kiln/spec";
import type { Entry, FlatEntry } from "../flatten/entry.js";
import { directory, type Origin, regularFile, symlink } from "./entries.js";

export interface FilesOptions {
  mtime: Date;
  /** uid/gid of each container name (spec's allocateIds). */
  ids: ReadonlyMap<string, number>;
  /** The directory a relative `source` of files[i] is read from: that entry's YAML file's directory. */
  baseDir: (index: number) => string;
  /** The bytes of a `metadata: yaml|json` file. */
  metadata: (format: "yaml" | "json") => string;
}

/** Where files[i].source is read from: `~/` is the home directory, relative paths start at the YAML file. */
export function sourcePath(source: string, baseDir: string): string {
  if (source.startsWith("~/")) return join(homedir(), source.slice(2));
  return isAbsolute(source) ? source : resolve(baseDir, source);
}

/** The archive path of a `files:` entry; a leading slash is dropped, as LinuxKit does. */
function archivePath(f: FileEntry, index: number): string {
  const parts = f.path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) {
    throw new KilnError(`files[${index}]: "${f.path}" is not a path inside the appliance`, {
      hint: "use an absolute path such as /etc/motd, without `..`",
    });
  }
  return parts.join("/");
}

/** LinuxKit gives leading directories the file's mode, plus x wherever a class may read or write. */
function directoryMode(mode: number): number {
  let m = mode;
  if (m & 0o700) m |= 0o100;
  if (m & 0o070) m |= 0o010;
  if (m & 0o007) m |= 0o001;
  return m;
}

async function sourceFile(path: string, f: FileEntry, index: number): Promise<{ size: number } | undefined> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw Object.assign(new Error("not a regular file"), { code: "EISDIR" });
    return { size: s.size };
  } catch (e) {
    if (f.optional) return undefined;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "not a regular file" : String(code);
    throw new KilnError(`files[${index}]: cannot read the source ${path}: ${why}`, {
      hint: "fix the path (a relative source is read from the YAML file's directory), or add `optional: true`",
    });
  }
}

export async function* fileEntries(files: readonly FileEntry[], o: FilesOptions): AsyncGenerator<FlatEntry> {
  const added = new Set<string>();
  for (const [index, f] of files.entries()) {
    const path = archivePath(f, index);
    const origin: Origin = { source: "linuxkit.files", location: `files[${index}]` };
    const mode = (f.mode !== undefined ? parseMode(f.mode) : undefined) ?? (f.directory ? 0o700 : 0o600);
    const owner = { mode, uid: resolveId(f.uid, o.ids), gid: resolveId(f.gid, o.ids) };

    let body: FlatEntry | undefined;
    if (f.directory) body = directory(path, o.mtime, origin, owner);
    else if (f.symlink !== undefined) body = symlink(path, f.symlink, o.mtime, origin, owner);
    else if (f.contents !== undefined)
      body = regularFile(path, Buffer.from(f.contents), o.mtime, origin, owner);
    else if (f.metadata !== undefined)
      body = regularFile(path, Buffer.from(o.metadata(f.metadata)), o.mtime, origin, owner);
    else if (f.source !== undefined) {
      const from = sourcePath(f.source, o.baseDir(index));
      const found = await sourceFile(from, f, index);
      if (found === undefined) continue; // optional and absent: no directories either, as in LinuxKit
      const entry: Entry = {
        ...regularFile(path, Buffer.alloc(0), o.mtime, origin, owner).entry,
        size: found.size,
      };
      body = { entry, body: createReadStream(from) };
    }
    if (body === undefined) continue;

    const parents = path.split("/").slice(0, -1);
    let sofar = "";
    for (const part of parents) {
      sofar = sofar === "" ? part : `${sofar}/${part}`;
      if (added.has(sofar)) continue;
      added.add(sofar);
      yield directory(sofar, o.mtime, origin, { ...owner, mode: directoryMode(mode) });
    }
    added.add(path);
    yield body;
  }
}
