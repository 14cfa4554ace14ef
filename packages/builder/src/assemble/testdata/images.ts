// Hand-made images for assembly and build tests: layers written with tar-stream, put straight into an
// OciCache under a registry name, so a build finds them there and never asks a registry.

import { gzipSync } from "node:zlib";
import { formatImageRef, parseRegistryRef } from "@kiln/spec";
import { pack } from "tar-stream";
import type { OciCache } from "../../cache/cache.js";
import { sha256 } from "../../cache/digest.js";
import { type Descriptor, type ImageManifest, MediaType } from "../../oci/types.js";
import { resolveCached } from "../../registry/pull.js";
import type { ResolvedImage } from "../../registry/pull.js";

export interface LayerEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export async function layerTar(entries: readonly LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => p.on("end", () => resolve()));
  for (const e of entries) {
    const type = e.type ?? "file";
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date("2020-01-02T03:04:05Z"),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      ...(e.pax !== undefined ? { pax: e.pax } : {}),
    };
    if (type === "file") p.entry(header, e.content ?? "");
    else p.entry(header);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface TestImage {
  layers: LayerEntry[][];
  config?: Record<string, unknown>;
}

/** Store the image in `cache` under `ref` (normalised) and return it resolved, as a build would see it. */
export async function putImage(cache: OciCache, ref: string, image: TestImage, arch = "amd64"): Promise<ResolvedImage> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const entries of image.layers) {
    const tar = await layerTar(entries);
    diffIds.push(sha256(tar));
    layers.push(await cache.putBytes(gzipSync(tar), MediaType.ociLayerGzip));
  }
  const config = {
    architecture: arch,
    os: "linux",
    config: image.config ?? {},
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  const configDesc = await cache.putBytes(Buffer.from(JSON.stringify(config)), MediaType.ociConfig);
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers };
  const desc = await cache.putBytes(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  const name = formatImageRef(parseRegistryRef(ref));
  await cache.tag(name, desc);
  const resolved = await resolveCached(cache, name, arch);
  if (!resolved) throw new Error(`${name} did not resolve from the cache`);
  return resolved;
}

/** A kernel image as LinuxKit's kernel packages are: `kernel`, `kernel.tar` of modules, maybe `ucode.cpio`. */
export async function kernelImage(o: { kernel?: string; modules?: LayerEntry[]; ucode?: Buffer } = {}): Promise<TestImage> {
  const modules = await layerTar(
    o.modules ?? [
      { name: "lib/", type: "directory" },
      { name: "lib/modules/", type: "directory" },
      { name: "lib/modules/6.1.0/", type: "directory" },
      { name: "lib/modules/6.1.0/kernel/", type: "directory" },
      { name: "lib/modules/6.1.0/kernel/virtio.ko", content: "virtio module" },
      { name: "lib/modules/6.1.0/modules.dep", content: "kernel/virtio.ko:\n" },
    ],
  );
  const files: LayerEntry[] = [
    { name: "kernel", content: o.kernel ?? "KERNEL-IMAGE-BYTES", mode: 0o644 },
    { name: "kernel.tar", content: modules },
    { name: "System.map", content: "not wanted" },
  ];
  if (o.ucode) files.push({ name: "ucode.cpio", content: o.ucode });
  return { layers: [files] };
}

/** A small init image: a busybox-like tree with a hard link, a symlink and Docker leftovers. */
export const INIT_IMAGE: TestImage = {
  layers: [
    [
      { name: "bin/", type: "directory" },
      { name: "bin/busybox", content: "#!busybox\n", mode: 0o755 },
      { name: "bin/sh", type: "link", linkname: "bin/busybox", mode: 0o755 },
      { name: "bin/ls", type: "symlink", linkname: "busybox", mode: 0o777 },
      { name: "etc/", type: "directory" },
      { name: "etc/hostname", content: "docker-leftover\n" },
      { name: "etc/hosts", content: "1.2.3.4 junk\n" },
      { name: "etc/resolv.conf", content: "nameserver 9.9.9.9\n" },
      { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
      { name: ".dockerenv", content: "" },
      { name: "dev/", type: "directory" },
      { name: "dev/console", type: "character-device", devmajor: 5, devminor: 1, mode: 0o600 },
      { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
      { name: "sbin/", type: "directory" },
      { name: "sbin/init", content: "#!/bin/sh\necho init\n", mode: 0o755 },
      { name: "lib/apk/db/installed", content: "P:busybox\nV:1.36\n" },
    ],
    [
      { name: "etc/motd", content: "from the second layer\n", uid: 1000, gid: 1000 },
      { name: "sbin/.wh.init" },
      { name: "sbin/init", content: "#!/bin/sh\necho second\n", mode: 0o755 },
    ],
  ],
};

/** An application image with an entrypoint and a label, for bundles. */
export const APP_IMAGE: TestImage = {
  layers: [
    [
      { name: "usr/", type: "directory" },
      { name: "usr/bin/", type: "directory" },
      { name: "usr/bin/app", content: "#!/bin/sh\necho app\n", mode: 0o755 },
      { name: "usr/bin/app-again", type: "link", linkname: "usr/bin/app", mode: 0o755 },
      { name: "etc/mtab", type: "symlink", linkname: "../proc/self/mounts" },
      { name: "lib/apk/db/installed", content: "P:app\nV:2\n" },
    ],
  ],
  config: { Entrypoint: ["/usr/bin/app"], Cmd: ["--serve"], Env: ["PATH=/usr/bin:/bin"] },
};
