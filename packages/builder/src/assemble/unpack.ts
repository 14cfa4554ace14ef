// An image's filesystem put into the appliance the way LinuxKit's ImageTar does it: under a prefix, with
// Docker's leftovers dropped, /etc/hosts and /etc/resolv.conf replaced, the files every container root
// needs added, and every entry tagged with where it came from.

import type { FlatEntry } from "../flatten/entry.js";
import {
  directory,
  discard,
  type Origin,
  parentDirectories,
  regularFile,
  symlink,
  tagged,
} from "./entries.js";
import type { ApplianceImage } from "./image.js";

/** init and volume images get /etc/resolv.conf as a link to where dhcpcd writes it; containers do not. */
export const RESOLV_CONF_LINK = "/run/resolvconf/resolv.conf";

const EXCLUDED = new Set([".dockerenv", "Dockerfile", "dev/console", "dev/pts", "dev/shm", "etc/hostname"]);

const HOSTS =
  "127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\n" +
  "ff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";
const NO_RESOLV_CONF = "\n# no resolv.conf configured\n";
const REPLACED: ReadonlyMap<string, string> = new Map([
  ["etc/hosts", HOSTS],
  ["etc/resolv.conf", NO_RESOLV_CONF],
]);

/**
 * What must exist in every unpacked image, in the order LinuxKit adds what is missing. LinuxKit keys its
 * directories with a trailing slash that flattened paths never have, so in effect it always appends the
 * directories, and /etc/hosts and /etc/resolv.conf too (their replacements never count as found); only
 * /etc/mtab is added just when the image lacks it. kiln does the same, so the listings match.
 */
const ALWAYS_ADDED = [
  "dev",
  "dev/pts",
  "dev/shm",
  "etc",
  "etc/hosts",
  "etc/mtab",
  "etc/resolv.conf",
  "proc",
  "sys",
];

export interface UnpackOptions {
  /** Directory the image goes under, without a trailing slash; "" for the root. */
  prefix: string;
  location: string;
  /** Turn /etc/resolv.conf into a symlink to this target (init and volume images). */
  resolvConfLink?: string;
  mtime: Date;
  signal?: AbortSignal;
}

const under = (prefix: string, path: string) => (prefix === "" ? path : `${prefix}/${path}`);

function added(name: string, o: UnpackOptions, origin: Origin): FlatEntry {
  const path = under(o.prefix, name);
  if (name === "etc/mtab") return symlink(path, "/proc/mounts", o.mtime, origin, { mode: 0o755 });
  if (name === "etc/resolv.conf" && o.resolvConfLink)
    return symlink(path, o.resolvConfLink, o.mtime, origin, { mode: 0o644 });
  const text = REPLACED.get(name);
  if (text !== undefined) return regularFile(path, Buffer.from(text), o.mtime, origin, { mode: 0o644 });
  return directory(path, o.mtime, origin);
}

export async function* unpackImage(image: ApplianceImage, o: UnpackOptions): AsyncGenerator<FlatEntry> {
  const origin: Origin = { source: image.source, location: o.location };
  yield* parentDirectories(o.prefix, o.mtime, origin);
  let mtabFound = false;
  for await (const { entry, body } of image.entries(o.signal)) {
    const path = entry.path;
    if (EXCLUDED.has(path)) {
      await discard(body);
      continue;
    }
    const replacement = REPLACED.get(path);
    if (replacement !== undefined) {
      await discard(body);
      // The image's ownership and mode stay; the type and contents are LinuxKit's.
      const owner = { mode: entry.mode, uid: entry.uid, gid: entry.gid };
      const target = under(o.prefix, path);
      if (path === "etc/resolv.conf" && o.resolvConfLink)
        yield symlink(target, o.resolvConfLink, o.mtime, origin, owner);
      else yield regularFile(target, Buffer.from(replacement), o.mtime, origin, owner);
      continue;
    }
    const out = tagged({ ...entry, path: under(o.prefix, path) }, origin);
    if (path === "etc/mtab") {
      mtabFound = true;
      out.mtime = o.mtime;
    }
    if (out.type === "link") out.linkname = under(o.prefix, entry.linkname!);
    yield body === undefined ? { entry: out } : { entry: out, body };
  }
  for (const name of ALWAYS_ADDED) {
    if (name === "etc/mtab" && mtabFound) continue;
    yield added(name, o, origin);
  }
}
