// Small builders for the entries assembly generates itself, all tagged the way LinuxKit tags them.

import { Readable } from "node:stream";
import type { Entry, FlatEntry } from "../flatten/entry.js";

/** PAX records LinuxKit puts on every entry: which image (or section) it came from, and where in the YAML. */
export const PAX_SOURCE = "LINUXKIT.source";
export const PAX_LOCATION = "LINUXKIT.location";

export interface Origin {
  /** `docker.io/library/alpine:3.20`, `linuxkit.files`, `linuxkit.volumes`, `empty`... */
  source: string;
  /** `kernel`, `init[0]`, `onboot[2]`, `services[0]`, `files[1]`, `volume[0]`. */
  location: string;
}

export function tagged(entry: Entry, origin: Origin): Entry {
  return { ...entry, pax: { ...entry.pax, [PAX_SOURCE]: origin.source, [PAX_LOCATION]: origin.location } };
}

function paxOf(origin: Origin | undefined): Record<string, string> | undefined {
  return origin === undefined ? undefined : { [PAX_SOURCE]: origin.source, [PAX_LOCATION]: origin.location };
}

export interface Owner {
  mode: number;
  uid?: number;
  gid?: number;
}

export function directory(
  path: string,
  mtime: Date,
  origin: Origin | undefined,
  o: Owner = { mode: 0o755 },
): FlatEntry {
  const entry: Entry = {
    path,
    type: "directory",
    mode: o.mode,
    uid: o.uid ?? 0,
    gid: o.gid ?? 0,
    mtime,
    size: 0,
  };
  const pax = paxOf(origin);
  if (pax) entry.pax = pax;
  return { entry };
}

export function regularFile(
  path: string,
  content: Buffer,
  mtime: Date,
  origin: Origin | undefined,
  o: Owner = { mode: 0o644 },
): FlatEntry {
  const entry: Entry = {
    path,
    type: "file",
    mode: o.mode,
    uid: o.uid ?? 0,
    gid: o.gid ?? 0,
    mtime,
    size: content.length,
  };
  const pax = paxOf(origin);
  if (pax) entry.pax = pax;
  return { entry, body: Readable.from([content]) };
}

export function symlink(path: string, target: string, mtime: Date, origin: Origin, o: Owner): FlatEntry {
  const entry: Entry = {
    path,
    type: "symlink",
    mode: o.mode,
    uid: o.uid ?? 0,
    gid: o.gid ?? 0,
    mtime,
    size: 0,
    linkname: target,
  };
  const pax = paxOf(origin);
  if (pax) entry.pax = pax;
  return { entry };
}

/** LinuxKit's tarPrefix: one directory entry per component of `path` ("a", "a/b", "a/b/c"). */
export function* parentDirectories(path: string, mtime: Date, origin: Origin): Generator<FlatEntry> {
  if (path === "") return;
  let sofar = "";
  for (const part of path.split("/")) {
    sofar = sofar === "" ? part : `${sofar}/${part}`;
    yield directory(sofar, mtime, origin);
  }
}

/** Read a body to its end and throw the bytes away, so the stream it comes from can move on. */
export async function discard(body: Readable | undefined): Promise<void> {
  if (body === undefined) return;
  for await (const _ of body) {
    // nothing to keep
  }
}

export async function readAll(body: Readable | undefined): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
