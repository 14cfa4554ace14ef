// The kernel image's part of the appliance, as LinuxKit's kernel filter makes it: `boot/kernel` and
// `boot/cmdline` (and `boot/ucode.cpio`), and the entries of the image's modules tarball appended at the
// root. Everything else in the image is dropped.

import type { Readable } from "node:stream";
import { type KernelEntry, KilnError } from "@kiln/spec";
import { entryBody } from "../flatten/body.js";
import type { FlatEntry } from "../flatten/entry.js";
import { readHeader } from "../flatten/header.js";
import { drain, readTar } from "../flatten/tar-reader.js";
import { directory, discard, type Origin, regularFile, tagged } from "./entries.js";
import type { ApplianceImage } from "./image.js";

export const KERNEL_LOCATION = "kernel";

/** The file names the kernel section asks for, with LinuxKit's defaults. */
export function kernelFiles(k: KernelEntry): { binary: string; tar?: string; ucode?: string } {
  const clean = (p: string) => p.replace(/^(\.?\/)+/, "");
  const out: { binary: string; tar?: string; ucode?: string } = { binary: clean(k.binary || "kernel") };
  const tar = k.tar === undefined ? "kernel.tar" : k.tar;
  if (tar !== "" && tar !== "none") out.tar = clean(tar);
  if (k.ucode) out.ucode = clean(k.ucode);
  return out;
}

function notARegularFile(image: ApplianceImage, name: string, type: string): KilnError {
  return new KilnError(`kernel image ${image.source}: \`${name}\` is a ${type}, not a regular file`, {
    hint: "build the kernel image with the file itself at that path, or point kernel.binary/tar/ucode at it",
  });
}

/**
 * The entries of the modules tarball, appended at the root with the kernel image's tags. A directory the
 * tarball leaves out (`tar cf kernel.tar lib/modules` has no `lib`) is added before its first child: the
 * kernel's initramfs unpacker creates no missing parents, so those files would silently not exist.
 */
async function* modules(
  body: Readable,
  tarName: string,
  origin: Origin,
  mtime: Date,
): AsyncGenerator<FlatEntry> {
  const label = `${origin.source} ${tarName}`;
  const dirs = new Set<string>();
  for await (const item of readTar(body)) {
    const read = readHeader(item.header, item.paxRaw, label);
    if (read.kind === "skip") {
      await drain(item);
      continue;
    }
    if (read.kind !== "entry") {
      throw new KilnError(`kernel image ${origin.source}: ${tarName} holds a whiteout (${read.path})`, {
        hint: "the modules tarball must be a plain tar of files",
      });
    }
    const entry = tagged(read.entry, origin);
    const parts = entry.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (dirs.has(parent)) continue;
      dirs.add(parent);
      yield directory(parent, mtime, origin);
    }
    if (entry.type === "directory") dirs.add(entry.path);
    if (entry.type !== "file") {
      await drain(item);
      yield { entry };
      continue;
    }
    const handed = entryBody(
      item,
      (err) => new KilnError(`kernel image ${origin.source}: cannot read ${tarName}: ${err.message}`),
    );
    yield { entry, body: handed.body };
    await handed.settle();
  }
}

export interface KernelOptions {
  mtime: Date;
  signal?: AbortSignal;
}

export async function* kernelEntries(
  image: ApplianceImage,
  k: KernelEntry,
  o: KernelOptions,
): AsyncGenerator<FlatEntry> {
  const names = kernelFiles(k);
  const origin: Origin = { source: image.source, location: KERNEL_LOCATION };
  const cmdline = Buffer.from(k.cmdline ?? "", "utf8");
  let bootMade = false;
  let foundKernel = false;
  let foundTar = false;
  for await (const { entry, body } of image.entries(o.signal)) {
    const path = entry.path;
    const wanted = path === names.binary || path === names.tar || path === names.ucode;
    if (!wanted) {
      await discard(body);
      continue;
    }
    if (entry.type !== "file") throw notARegularFile(image, path, entry.type);
    if (!bootMade && path !== names.tar) {
      yield directory("boot", o.mtime, origin);
      bootMade = true;
    }
    if (path === names.binary) {
      foundKernel = true;
      yield regularFile("boot/cmdline", cmdline, o.mtime, origin);
      const kernel = tagged({ ...entry, path: "boot/kernel", uid: 0, gid: 0, mtime: o.mtime }, origin);
      delete kernel.uname;
      delete kernel.gname;
      delete kernel.xattrs;
      yield { entry: kernel, body: body! };
    } else if (path === names.tar) {
      foundTar = true;
      yield* modules(body!, path, origin, o.mtime);
    } else {
      const ucode = tagged({ ...entry, path: "boot/ucode.cpio", uid: 0, gid: 0, mtime: o.mtime }, origin);
      delete ucode.uname;
      delete ucode.gname;
      delete ucode.xattrs;
      yield { entry: ucode, body: body! };
    }
  }
  if (!foundKernel) {
    throw new KilnError(`kernel image ${image.source} has no file \`${names.binary}\``, {
      hint: "set kernel.binary to the kernel's path in the image",
    });
  }
  if (names.tar !== undefined && !foundTar) {
    throw new KilnError(`kernel image ${image.source} has no modules tarball \`${names.tar}\``, {
      hint: "set kernel.tar to its path in the image, or `tar: none` for a kernel without one",
    });
  }
}
