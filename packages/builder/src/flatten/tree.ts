// The image's final filesystem tree, built from headers alone (never contents), layer by layer.
//
// Each node remembers its *slot*: the layer and the entry index at which it first appeared in its current
// form. Flattening's second pass emits a node when it reaches that slot again, so an entry is emitted
// exactly once, in tar order, layers bottom to top, and always after its parent directory and (for
// hardlinks) after its target. A directory redeclared by higher layers keeps its slot but takes the
// metadata of the topmost declaration.

import type { Entry, EntryType } from "./entry.js";
import { layerError } from "./layer-error.js";

export interface TreeNode {
  path: string;
  type: EntryType;
  /** Where the node is emitted: layer index (0 = bottom) and entry index within that layer's tar. */
  layer: number;
  index: number;
  /** True when the entry at `index` is this node's own header; false for directories made implicitly. */
  own: boolean;
  parent: TreeNode | undefined;
  /** Directories only: the children, and the metadata to emit. */
  children?: Map<string, TreeNode>;
  dir?: Entry;
  /** Hardlinks only: the node the target path held when the link was read. */
  target?: TreeNode;
}

/** What the tree keeps of an entry: directories all their metadata, everything else only its shape. */
export interface Placement {
  path: string;
  type: EntryType;
  linkname?: string;
  dir?: Entry;
}

export function placement(entry: Entry): Placement {
  if (entry.type === "directory") return { path: entry.path, type: entry.type, dir: entry };
  if (entry.type === "link") return { path: entry.path, type: entry.type, linkname: entry.linkname! };
  return { path: entry.path, type: entry.type };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Parent directories a layer leaves out are made as root-owned 0755 directories, as container runtimes do,
 * and marked as made up, so that merging images at one root can keep a directory an earlier image really has.
 */
function implicitDirectory(path: string): Entry {
  return {
    path,
    type: "directory",
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: new Date(0),
    size: 0,
    synthetic: true,
  };
}

export class Tree {
  readonly root: TreeNode = {
    path: "",
    type: "directory",
    layer: -1,
    index: -1,
    own: false,
    parent: undefined,
    children: new Map(),
  };

  constructor(private readonly digests: readonly string[]) {}

  /** The node at `path`, without following symlinks; undefined if any part of it is missing or not a directory. */
  lookup(path: string): TreeNode | undefined {
    if (path === "") return this.root;
    let node: TreeNode | undefined = this.root;
    for (const part of path.split("/")) {
      node = node.children?.get(part);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** A whiteout: `path` and everything under it are gone. */
  remove(path: string): void {
    const node = this.lookup(path);
    node?.parent?.children?.delete(baseName(path));
  }

  /** An opaque directory: whatever the layers below put in it is gone. */
  clear(path: string): void {
    this.lookup(path)?.children?.clear();
  }

  /** Add the entry found at (`layer`, `index`), replacing whatever was at its path. */
  add(entry: Placement, layer: number, index: number): void {
    const digest = this.digests[layer] ?? "";
    const parts = entry.path.split("/");
    const name = parts.pop()!;
    let parent = this.root;
    let sofar = "";
    for (const part of parts) {
      sofar = sofar === "" ? part : `${sofar}/${part}`;
      let child = parent.children!.get(part);
      if (child === undefined) {
        child = { path: sofar, type: "directory", layer, index, own: false, parent, children: new Map() };
        child.dir = implicitDirectory(sofar);
        parent.children!.set(part, child);
      } else if (child.type === "symlink") {
        throw layerError(digest, `entry "${entry.path}" lies under "${sofar}", which is a symlink`);
      } else if (child.type !== "directory") {
        throw layerError(digest, `entry "${entry.path}" lies under "${sofar}", which is a ${child.type}`);
      }
      parent = child;
    }

    const existing = parent.children!.get(name);
    if (entry.type === "directory" && existing?.type === "directory") {
      existing.dir = entry.dir!; // merged: the same directory, newer metadata
      return;
    }
    const node: TreeNode = { path: entry.path, type: entry.type, layer, index, own: true, parent };
    if (entry.type === "directory") {
      node.children = new Map();
      node.dir = entry.dir!;
    } else if (entry.type === "link") {
      const target = this.lookup(entry.linkname!);
      if (target === undefined) {
        throw layerError(digest, `hardlink "${entry.path}" → "${entry.linkname}": the target does not exist`);
      }
      if (target.type === "directory") {
        throw layerError(digest, `hardlink "${entry.path}" → "${entry.linkname}": the target is a directory`);
      }
      node.target = target;
    }
    parent.children!.set(name, node);
  }

  /**
   * Check that every hardlink's target survived the layers above it, and list the nodes to emit per layer:
   * `slots[layer].get(index)` is the nodes to emit at that entry, parents first.
   */
  finish(): Map<number, TreeNode[]>[] {
    const slots = this.digests.map(() => new Map<number, TreeNode[]>());
    const stack = [...this.root.children!.values()];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (node.target !== undefined) this.checkLink(node);
      const layerSlots = slots[node.layer]!;
      const here = layerSlots.get(node.index);
      if (here === undefined) layerSlots.set(node.index, [node]);
      else here.push(node);
      if (node.children !== undefined) for (const child of node.children.values()) stack.push(child);
    }
    const depth = (node: TreeNode): number => node.path.split("/").length;
    for (const layerSlots of slots) {
      for (const nodes of layerSlots.values())
        if (nodes.length > 1) nodes.sort((a, b) => depth(a) - depth(b));
    }
    return slots;
  }

  private checkLink(node: TreeNode): void {
    const targetPath = node.target!.path;
    const now = this.lookup(targetPath);
    if (now === node.target) return;
    const what = now === undefined ? "removes" : "replaces";
    throw layerError(
      this.digests[node.layer] ?? "",
      `hardlink "${node.path}" → "${targetPath}": a later entry or layer ${what} the target, so the link would dangle`,
    );
  }
}
