// Small synthetic images for the oracle's fixture cases, pushed to the loopback registry. Their layers hold
// what LinuxKit's unpacking treats specially (excluded, replaced and touched files, hard links, devices,
// set-id bits, owners, xattrs, whiteouts), so both tools' handling of it is compared entry by entry.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  type Descriptor,
  type ImageConfigBlob,
  type ImageManifest,
  MediaType,
  type OciCache,
  pushImage,
  RegistryClient,
} from "@kiln/builder";
import { type Header, pack } from "tar-stream";

export interface LayerEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX records, e.g. `SCHILY.xattr.user.kiln`. */
  pax?: Record<string, string>;
}

export interface SyntheticImage {
  /** The image config's `config` object: Entrypoint, Cmd, Env, WorkingDir, Labels... */
  config: NonNullable<ImageConfigBlob["config"]>;
  layers: LayerEntry[][];
}

const MTIME = new Date("2024-01-02T03:04:05Z");

export async function layerTar(entries: readonly LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on("end", () => resolve());
    p.on("error", reject);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    const header: Partial<Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: MTIME,
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax) header.pax = e.pax;
    if (type === "file") p.entry(header, e.content ?? "");
    else p.entry(header);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * What every fixture image holds, before its own marker file: a well-formed layer (every parent directory
 * present), with the entries LinuxKit's unpacking excludes, replaces or keeps specially.
 */
export const BASE_LAYER: LayerEntry[] = [
  { name: "bin/", type: "directory" },
  { name: "bin/app", content: "#!/bin/sh\necho app\n", mode: 0o755 },
  { name: "bin/sh", type: "symlink", linkname: "app" },
  { name: "bin/hard", type: "link", linkname: "bin/app" },
  { name: "etc/", type: "directory" },
  { name: "etc/hosts", content: "10.0.0.1 image-host\n" },
  { name: "etc/resolv.conf", content: "nameserver 192.0.2.53\n" },
  { name: "etc/hostname", content: "image-hostname\n" },
  { name: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n" },
  { name: "etc/shadow", content: "root:*:19000::::::\n", mode: 0o640, gid: 42 },
  { name: "dev/", type: "directory" },
  { name: "dev/console", type: "character-device", devmajor: 5, devminor: 1, mode: 0o600 },
  { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 },
  { name: "dev/loop0", type: "block-device", devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
  { name: ".dockerenv", content: "" },
  { name: "Dockerfile", content: "FROM scratch\n" },
  { name: "usr/", type: "directory" },
  { name: "usr/bin/", type: "directory" },
  { name: "usr/bin/suid", content: "suid\n", mode: 0o4755 },
  { name: "usr/bin/sgid", content: "sgid\n", mode: 0o2711, gid: 50 },
  { name: "usr/bin/capable", content: "cap\n", mode: 0o755, pax: { "SCHILY.xattr.user.kiln": "oracle" } },
  { name: "tmp/", type: "directory", mode: 0o1777 },
  { name: "home/", type: "directory" },
  { name: "home/app/", type: "directory", mode: 0o700, uid: 1000, gid: 1000 },
  { name: "home/app/.profile", content: "export A=1\n", uid: 1000, gid: 1000 },
  { name: "var/", type: "directory" },
  { name: "var/lib/", type: "directory" },
  { name: "var/lib/gone", content: "removed by the next layer\n" },
  { name: "run/", type: "directory" },
  { name: "run/fifo", type: "fifo", mode: 0o644 },
  { name: `long-${"x".repeat(110)}/`, type: "directory" },
  { name: `long-${"x".repeat(110)}/name-past-the-ustar-limit`, content: "long\n" },
];

/** A second layer: a whiteout and an overwrite. */
export const UPPER_LAYER: LayerEntry[] = [
  { name: "var/lib/.wh.gone", content: "" },
  { name: "etc/motd", content: "from the upper layer\n", mode: 0o444 },
];

/** The file LOOSE_LAYERS' opaque directory hides. */
export const OPAQUE_HIDDEN = "opt/cache/old";

/**
 * Layers as some tools write them: parent directories left implicit, and an opaque directory. The rootfs case
 * uses these, so where the tools part ways on them shows once, not in every golden case.
 */
export const LOOSE_LAYERS: LayerEntry[][] = [
  [
    { name: "opt/cache/old", content: "hidden by an opaque directory in the next layer\n" },
    { name: "srv/a/b/c/deep", content: "no parent directory entries\n" },
  ],
  [
    { name: "opt/cache/.wh..wh..opq", content: "" },
    { name: "opt/cache/new", content: "after the opaque marker\n" },
  ],
];

function digestOf(b: Buffer): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/**
 * Write `image` into `cache` (an OCI layout used as scratch space) and push it to `target`
 * (`HOST:PORT/REPO:TAG`), its tag suffixed with the manifest's digest so that a changed fixture never meets
 * an old copy in an image cache. Returns the pushed reference.
 */
export async function pushSynthetic(
  cache: OciCache,
  image: SyntheticImage,
  target: string,
  client = new RegistryClient(),
): Promise<string> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const entries of image.layers) {
    const tar = await layerTar(entries);
    diffIds.push(digestOf(tar));
    layers.push(await cache.putBytes(gzipSync(tar), MediaType.ociLayerGzip));
  }
  const config: ImageConfigBlob = {
    architecture: "amd64",
    os: "linux",
    config: image.config,
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc = await cache.putBytes(configBytes, MediaType.ociConfig);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers,
  };
  const manifestDesc = await cache.putBytes(Buffer.from(JSON.stringify(manifest)), MediaType.ociManifest);
  const tagged = `${target}-${manifestDesc.digest.slice("sha256:".length, "sha256:".length + 12)}`;
  const pushed = await pushImage(
    client,
    cache,
    { name: tagged, root: manifestDesc, manifestDescriptor: manifestDesc, manifest, config, fromCache: true },
    tagged,
  );
  return pushed.name;
}

/** A plain newc cpio archive of regular files (root's, 0644), as a microcode archive is. */
export function newcArchive(files: ReadonlyArray<{ name: string; content: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const entry = (ino: number, name: string, mode: number, content: Buffer) => {
    const hex = (v: number) => v.toString(16).padStart(8, "0");
    const fields = [ino, mode, 0, 0, 1, 0, content.length, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
    const header = Buffer.from(`070701${fields.map(hex).join("")}${name}\0`, "latin1");
    parts.push(header, pad(header.length), content, pad(content.length));
  };
  for (const [i, f] of files.entries()) entry(i + 1, f.name, 0o100644, f.content);
  entry(0, "TRAILER!!!", 0, Buffer.alloc(0));
  return Buffer.concat(parts);
}

/** A kernel image in LinuxKit's layout: /kernel, /kernel.tar of modules, a microcode cpio, and the rest. */
export async function kernelImage(): Promise<SyntheticImage> {
  const modules = await layerTar([
    { name: "lib/", type: "directory" },
    { name: "lib/modules/", type: "directory" },
    { name: "lib/modules/6.1.0-oracle/", type: "directory" },
    { name: "lib/modules/6.1.0-oracle/kernel/", type: "directory" },
    { name: "lib/modules/6.1.0-oracle/kernel/virtio.ko", content: "not really a module\n" },
    { name: "lib/modules/6.1.0-oracle/modules.dep", content: "kernel/virtio.ko:\n" },
    { name: "lib/modules/6.1.0-oracle/build", type: "symlink", linkname: "/usr/src/linux" },
  ]);
  return {
    config: { Env: ["PATH=/bin"] },
    layers: [
      [
        { name: "kernel", content: Buffer.alloc(64 * 1024, 0x4b) },
        { name: "kernel.tar", content: modules },
        {
          name: "ucode.cpio",
          content: newcArchive([
            { name: "kernel/x86/microcode/GenuineIntel.bin", content: Buffer.alloc(2048, 0x75) },
          ]),
        },
        { name: "System.map", content: "ffffffff81000000 T _text\n" },
        { name: "kernel-dev.tar", content: Buffer.alloc(1024) },
      ],
    ],
  };
}
