// The image being built, as a map from path to metadata plus where each file's bytes are. Contents stay in
// temp files (or small buffers) until the layer is written, in path order, at the end.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { compareBytes, KilnError } from "@kiln/spec";
import type { Entry, EntryType } from "../flatten/entry.js";

/** Where a file's bytes are. Files from a directory the user may edit are read once, into `file` copies. */
export type Body = { kind: "bytes"; data: Buffer } | { kind: "file"; path: string; size: number };

/** What hardlinked paths share. Compared by identity. */
export interface Inode {
  body: Body;
}

export interface Node {
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Symlinks: the target as written. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Regular files (and their hardlinks). */
  inode?: Inode;
}

export function bodySize(body: Body): number {
  return body.kind === "bytes" ? body.data.length : body.size;
}

export function openBody(body: Body): Readable {
  return body.kind === "bytes" ? Readable.from([body.data]) : createReadStream(body.path);
}

export async function readBody(body: Body): Promise<Buffer> {
  if (body.kind === "bytes") return body.data;
  const chunks: Buffer[] = [];
  for await (const c of openBody(body)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A root-owned file whose contents are the file at `path` (a build output, read when the layer is written). */
export async function fileNode(path: string, mode: number): Promise<Node> {
  const size = (await stat(path)).size;
  return { type: "file", mode, uid: 0, gid: 0, inode: { body: { kind: "file", path, size } } };
}

export interface TreeEntry {
  entry: Entry;
  body?: Body;
}

const IMPLICIT_DIR: Node = { type: "directory", mode: 0o755, uid: 0, gid: 0 };

/**
 * Later additions replace earlier ones at the same path (a directory replaced by anything else takes its
 * subtree with it); a directory added over a directory only updates its metadata, so trees merge. Missing
 * parents appear as root-owned 0755 directories. Nothing is ever written through a symlink.
 */
export class ImageTree {
  private readonly nodes = new Map<string, Node>();

  get size(): number {
    return this.nodes.size;
  }

  get(path: string): Node | undefined {
    return this.nodes.get(path);
  }

  /** `what` names the source in errors, e.g. "Debian package runc". */
  add(path: string, node: Node, what: string): void {
    if (path === "") {
      if (node.type !== "directory")
        throw new KilnError(`${what}: cannot replace the image root with a ${node.type}`);
      return;
    }
    this.parents(path, what);
    const old = this.nodes.get(path);
    if (old?.type === "directory" && node.type !== "directory") this.removeUnder(path);
    this.nodes.set(path, node);
  }

  /** A hardlink: `path` shares the inode of the file at `target`. */
  link(path: string, target: string, what: string): void {
    const t = this.nodes.get(target);
    if (t?.inode === undefined) {
      throw new KilnError(`${what}: hardlink /${path} points at /${target}, which is not a file`);
    }
    this.add(path, { ...t }, what);
  }

  remove(path: string): void {
    this.nodes.delete(path);
    this.removeUnder(path);
  }

  private removeUnder(path: string): void {
    const prefix = `${path}/`;
    for (const p of this.nodes.keys()) if (p.startsWith(prefix)) this.nodes.delete(p);
  }

  private parents(path: string, what: string): void {
    let at = path.indexOf("/");
    while (at !== -1) {
      const parent = path.slice(0, at);
      const node = this.nodes.get(parent);
      if (node === undefined || (node.type !== "directory" && node.type !== "symlink")) {
        this.nodes.set(parent, { ...IMPLICIT_DIR });
      } else if (node.type === "symlink") {
        throw new KilnError(`${what}: /${path} would be written through the symlink /${parent}`, {
          hint: "write to the path the symlink points to, or add the symlink after this entry",
        });
      }
      at = path.indexOf("/", at + 1);
    }
  }

  /** Paths under `dir` (not `dir` itself), in path order. */
  under(dir: string): string[] {
    const prefix = dir === "" ? "" : `${dir}/`;
    return [...this.nodes.keys()].filter((p) => p.startsWith(prefix) && p !== dir).sort(compareBytes);
  }

  /**
   * Every entry in path order, stamped with `mtime`. Of the paths sharing an inode, the first in that order
   * carries the contents and the others become hardlinks to it, so a link never precedes its target.
   */
  *entries(mtime: Date): Generator<TreeEntry> {
    const first = new Map<Inode, string>();
    for (const path of [...this.nodes.keys()].sort(compareBytes)) {
      const node = this.nodes.get(path)!;
      const entry: Entry = {
        path,
        type: node.type,
        mode: node.mode,
        uid: node.uid,
        gid: node.gid,
        mtime,
        size: 0,
      };
      if (node.linkname !== undefined) entry.linkname = node.linkname;
      if (node.devmajor !== undefined) entry.devmajor = node.devmajor;
      if (node.devminor !== undefined) entry.devminor = node.devminor;
      if (node.inode) {
        const target = first.get(node.inode);
        if (target !== undefined) {
          yield { entry: { ...entry, type: "link", linkname: target } };
          continue;
        }
        first.set(node.inode, path);
        yield { entry: { ...entry, size: bodySize(node.inode.body) }, body: node.inode.body };
        continue;
      }
      yield { entry };
    }
  }
}
