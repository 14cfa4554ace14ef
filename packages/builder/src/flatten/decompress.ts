// A layer blob on disk → its uncompressed tar stream, by media type.

import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { PassThrough, pipeline, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { KilnError } from "@kiln/spec";

export type LayerCompression = "none" | "gzip" | "zstd";

const COMPRESSION: Readonly<Record<string, LayerCompression>> = {
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
};

/** How a layer of this media type is compressed; throws a KilnError for anything that is not a layer kiln reads. */
export function layerCompression(mediaType: string): LayerCompression {
  const compression = COMPRESSION[mediaType];
  if (compression === undefined) {
    throw new KilnError(`unsupported layer media type "${mediaType}"`, {
      hint: `kiln reads layers of these types: ${Object.keys(COMPRESSION).join(", ")}`,
    });
  }
  return compression;
}

async function openFile(path: string): Promise<Readable> {
  try {
    const handle = await open(path, "r");
    return handle.createReadStream();
  } catch (err) {
    throw new KilnError(`cannot open the layer blob ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function zstd(path: string): Promise<Readable> {
  (await openFile(path)).destroy(); // the same clear error as the others for a missing file
  const child = spawn("zstd", ["-d", "-c", "-q", "--", path], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new KilnError(
      missing
        ? `cannot read the zstd-compressed layer ${path}: the zstd command is not installed`
        : `cannot run zstd for the layer ${path}: ${(err as Error).message}`,
      { hint: "install zstd (apt-get install zstd), or use an image with gzip layers", cause: err },
    );
  }
  child.on("error", () => {}); // only kill() can fail from here on, and the exit code tells us what matters
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  // The tar stream ends only once zstd has exited cleanly, so a truncated or corrupt blob is an error,
  // not a short tar.
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  child.once("close", (code, signal) => {
    if (code === 0) out.end();
    else if (!out.destroyed) {
      const why = stderr.trim() || `exit ${code ?? signal}`;
      out.destroy(
        new KilnError(`zstd cannot decompress the layer ${path}: ${why}`, {
          hint: "the layer blob is corrupt; pull the image again",
        }),
      );
    }
  });
  out.once("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return out;
}

/**
 * The uncompressed tar stream of the layer blob at `path`, whose media type says how it is compressed:
 * OCI `application/vnd.oci.image.layer.v1.tar`, `…+gzip` and `…+zstd` (also the nondistributable ones), and
 * Docker's `application/vnd.docker.image.rootfs.diff.tar.gzip`. gzip is decompressed in process; zstd needs
 * the `zstd` command, and a KilnError says so if it is missing.
 */
export async function openLayer(path: string, mediaType: string): Promise<Readable> {
  const compression = layerCompression(mediaType);
  if (compression === "zstd") return zstd(path);
  const file = await openFile(path);
  if (compression === "none") return file;
  // Each chunk is a round trip to libuv's thread pool, where it may wait behind the initrd's deflate
  // blocks: 256 KiB chunks instead of zlib's 16 KiB make sixteen times fewer of those waits.
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  pipeline(file, gunzip, () => {}); // an error on either side destroys both, and reaches the reader via gunzip
  return gunzip;
}
