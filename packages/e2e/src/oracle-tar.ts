// A `-f tar` output (kiln's or LinuxKit's) read into what the oracle compares: the boot files, the root
// filesystem outside the bundles ("init"), and per container its config.json and runtime.json bytes and the
// tree of its bundle, each entry with type, mode, owner, link target, size, content digest and PAX records.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { extract, type Header } from "tar-stream";

export interface TreeEntry {
  /** Relative to the part it belongs to, without a trailing slash (`lower/bin/sh`, `etc/hosts`). */
  path: string;
  type: string;
  /** Permission bits and set-id/sticky bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  size: number;
  /** Of a regular file's content. */
  sha256?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX records other than those restating the header (path, size, times, owner). */
  pax: Record<string, string>;
  /** The name exactly as the tar has it (e.g. with or without a directory's trailing slash). */
  rawName: string;
}

export interface ContainerPart {
  /** `containers/onboot/000-dhcpcd`, `containers/services/minio`, `containers/volumes/data`... */
  bundle: string;
  config?: Buffer;
  runtime?: Buffer;
  /** Every entry under the bundle, `config.json` and `runtime.json` included, paths relative to it. */
  tree: Map<string, TreeEntry>;
}

export interface TarView {
  /** Every entry in tar order, with full paths. */
  entries: TreeEntry[];
  /** Paths that occur more than once (the last one wins when the tar is unpacked). */
  repeated: string[];
  boot: Map<string, TreeEntry>;
  /** boot/kernel's digest and boot/cmdline's text. */
  kernelSha256?: string;
  cmdline?: string;
  /** Everything outside boot/ and the bundles, paths from the root. */
  init: Map<string, TreeEntry>;
  /** The bundles, and the volumes (which have no config.json or runtime.json). */
  containers: Map<string, ContainerPart>;
}

const HEADER_PAX = new Set([
  "path",
  "linkpath",
  "size",
  "mtime",
  "atime",
  "ctime",
  "uid",
  "gid",
  "uname",
  "gname",
]);

/**
 * The bundle or volume `path` lies in (`containers/onboot/000-x`, `containers/onshutdown/000-x`,
 * `containers/services/x`, `containers/volumes/x`), or undefined for the directory itself and anything else.
 */
export function bundleOf(path: string): string | undefined {
  const m = /^containers\/(onboot|onshutdown|services|volumes)\/([^/]+)(?:\/|$)/.exec(path);
  if (!m) return undefined;
  const bundle = `containers/${m[1]}/${m[2]}`;
  return path === bundle ? undefined : bundle;
}

function normalise(name: string): string {
  let p = name.replace(/^\.?\/+/, "");
  while (p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/** Read a tar file (plain, as both tools write `-f tar`) into a TarView. */
export async function readTarView(file: string): Promise<TarView> {
  const entries: TreeEntry[] = [];
  const bodies = new Map<string, Buffer>();
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("finish", () => resolve());
    ex.on("error", reject);
  });
  ex.on("entry", (h: Header, stream, next) => {
    const path = normalise(h.name);
    const hash = createHash("sha256");
    const keep = path === "boot/cmdline" || /\/(config|runtime)\.json$/.test(path);
    const chunks: Buffer[] = [];
    stream.on("data", (data) => {
      const c = data as Buffer;
      hash.update(c);
      if (keep) chunks.push(c);
    });
    stream.on("end", () => {
      const pax: Record<string, string> = {};
      const records = (h.pax ?? {}) as Record<string, string>;
      for (const [k, v] of Object.entries(records)) if (!HEADER_PAX.has(k)) pax[k] = v;
      const e: TreeEntry = {
        path,
        type: h.type ?? "file",
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        uname: h.uname ?? "",
        gname: h.gname ?? "",
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        size: h.size ?? 0,
        pax,
        rawName: h.name,
      };
      if (h.linkname) e.linkname = h.linkname;
      if (e.type === "file" || e.type === "contiguous-file") e.sha256 = hash.digest("hex");
      if (e.type === "block-device" || e.type === "character-device") {
        e.devmajor = h.devmajor ?? 0;
        e.devminor = h.devminor ?? 0;
      }
      entries.push(e);
      if (keep) bodies.set(path, Buffer.concat(chunks));
      next();
    });
    stream.on("error", (err: Error) => ex.destroy(err));
  });
  const input = createReadStream(file);
  input.on("error", (err) => ex.destroy(err));
  input.pipe(ex);
  await done;
  return viewOf(entries, bodies);
}

function viewOf(entries: TreeEntry[], bodies: Map<string, Buffer>): TarView {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  const view: TarView = { entries, repeated: [], boot: new Map(), init: new Map(), containers: new Map() };
  for (const e of entries) {
    if (seen.has(e.path)) repeated.add(e.path);
    seen.add(e.path);
    if (e.path === "boot" || e.path.startsWith("boot/")) {
      view.boot.set(e.path, e);
      if (e.path === "boot/kernel") view.kernelSha256 = e.sha256!;
      if (e.path === "boot/cmdline") view.cmdline = bodies.get(e.path)?.toString("utf8") ?? "";
      continue;
    }
    const bundle = bundleOf(e.path);
    if (bundle === undefined) {
      view.init.set(e.path, e);
      continue;
    }
    let part = view.containers.get(bundle);
    if (!part) {
      part = { bundle, tree: new Map() };
      view.containers.set(bundle, part);
    }
    const rel = e.path.slice(bundle.length + 1);
    part.tree.set(rel, { ...e, path: rel });
    if (rel === "config.json") part.config = bodies.get(e.path)!;
    if (rel === "runtime.json") part.runtime = bodies.get(e.path)!;
  }
  view.repeated = [...repeated].sort();
  return view;
}

/** The tree of one part of a view: `boot`, `init`, or a bundle or volume. */
export function partTree(view: TarView, part: string): ReadonlyMap<string, TreeEntry> | undefined {
  if (part === "boot") return view.boot;
  if (part === "init") return view.init;
  return view.containers.get(part)?.tree;
}
