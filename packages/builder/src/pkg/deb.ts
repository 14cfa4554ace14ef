// A .deb's data, streamed from `dpkg-deb --fsys-tarfile` into the image tree: nothing is extracted as root,
// modes and owners come from the package's own tar, and file contents go to a spool of temp files (small
// ones stay in memory) until the layer is written.

import { open } from "node:fs/promises";
import { join } from "node:path";
import { KilnError } from "@kiln/spec";
import { readHeader } from "../flatten/header.js";
import { drain, readTar, type TarItem } from "../flatten/tar-reader.js";
import { loadExeca } from "../load-execa.js";
import { locate } from "./run.js";
import type { Body, ImageTree } from "./tree.js";

/** Contents up to this size are kept in memory rather than spooled. */
const IN_MEMORY = 64 * 1024;

/** Numbered temp files for contents, in one directory the build removes. */
export class Spool {
  private n = 0;
  constructor(readonly dir: string) {}

  next(): string {
    return join(this.dir, String(this.n++));
  }

  async take(item: TarItem, size: number): Promise<Body> {
    if (size <= IN_MEMORY) {
      const chunks: Buffer[] = [];
      for await (const c of item.stream) chunks.push(c as Buffer);
      return { kind: "bytes", data: Buffer.concat(chunks) };
    }
    const path = this.next();
    const fh = await open(path, "wx", 0o600);
    try {
      for await (const c of item.stream) await fh.write(c as Buffer);
    } finally {
      await fh.close();
    }
    return { kind: "file", path, size };
  }
}

/** Whether `path` is `prefix` or lies under it, component-wise. */
export function excluded(path: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(`${p}/`));
}

export interface DebStreamOptions {
  signal?: AbortSignal;
  /** For messages, e.g. "Debian package runc 1.1.5". */
  what: string;
  /** The .deb's sha256, naming it in errors about its contents. */
  digest: string;
}

/**
 * Each entry of a .deb's data archive, in archive order. `visit` must consume the item's stream (read or
 * drain it) before returning.
 */
export async function eachDebEntry(
  deb: string,
  o: DebStreamOptions,
  visit: (
    item: TarItem,
    entry: Extract<ReturnType<typeof readHeader>, { kind: "entry" }>["entry"],
  ) => Promise<void>,
): Promise<void> {
  const { execa } = await loadExeca();
  const child = execa(await locate("dpkg-deb"), ["--fsys-tarfile", deb], {
    buffer: { stdout: false, stderr: true },
    stdin: "ignore",
    cancelSignal: o.signal,
    reject: false,
  });
  let failure: unknown;
  try {
    for await (const item of readTar(child.stdout)) {
      o.signal?.throwIfAborted();
      let read: ReturnType<typeof readHeader>;
      try {
        read = readHeader(item.header, item.paxRaw, `sha256:${o.digest}`);
      } catch (e) {
        throw new KilnError(`${o.what}: ${(e as Error).message}`, {
          hint: "the package is damaged; delete it from the download cache",
        });
      }
      if (read.kind !== "entry") {
        await drain(item);
        if (read.kind === "skip") continue;
        throw new KilnError(
          `${o.what}: its data has an overlay whiteout (${read.path}), which no package should`,
        );
      }
      await visit(item, read.entry);
    }
  } catch (e) {
    failure = e;
    if (child.exitCode === null) child.kill();
  }
  const r = await child;
  o.signal?.throwIfAborted();
  if ((r as { code?: string }).code === "ENOENT") {
    throw new KilnError("dpkg-deb is not installed", {
      hint: "install dpkg (Debian/Ubuntu), or drop the `debian:` section",
    });
  }
  // A failure of ours comes first; the tar reader's failure usually just echoes dpkg-deb's.
  if (failure instanceof KilnError) throw failure;
  if (r.exitCode !== 0 && !r.isTerminated) {
    throw new KilnError(`${o.what}: dpkg-deb cannot read ${deb}: ${String(r.stderr).trim()}`, {
      hint: "delete it from the download cache and build again",
    });
  }
  if (failure !== undefined) throw failure;
}

/** Add a package's files to the tree, dropping the excluded paths. Later packages overwrite earlier ones. */
export async function addDeb(
  tree: ImageTree,
  deb: string,
  o: DebStreamOptions & { exclude: readonly string[]; spool: Spool },
): Promise<void> {
  await eachDebEntry(deb, o, async (item, e) => {
    if (excluded(e.path, o.exclude)) {
      await drain(item);
      return;
    }
    const node = { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid };
    if (e.type === "file") {
      tree.add(e.path, { ...node, inode: { body: await o.spool.take(item, e.size) } }, o.what);
      return;
    }
    await drain(item);
    if (e.type === "link") {
      if (excluded(e.linkname!, o.exclude)) {
        throw new KilnError(`${o.what}: /${e.path} is a hardlink to the excluded /${e.linkname}`, {
          hint: "exclude both paths, or neither",
        });
      }
      tree.link(e.path, e.linkname!, o.what);
    } else if (e.type === "symlink") tree.add(e.path, { ...node, linkname: e.linkname! }, o.what);
    else if (e.type === "character-device" || e.type === "block-device")
      tree.add(e.path, { ...node, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 }, o.what);
    else tree.add(e.path, node, o.what);
  });
}
