import { link, mkdtemp, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { KilnError, UsageError } from "@kiln/spec/errors";
import type { DiskFormat, DiskInterface, DiskSpec } from "./disk-spec.js";
import { detectImageFormat } from "./image-format.js";
import { formatSize } from "./size.js";
import { runTool } from "./tools.js";

export interface PreparedDisk {
  path: string;
  format: DiskFormat;
  interface: DiskInterface;
  /** This run made the file; otherwise it was there and was left untouched. */
  created: boolean;
}

export interface PrepareDisksOptions {
  stateDir: string;
  /** Relative disk paths are relative to this. */
  cwd?: string;
  /** Size for disks given without one (`--disk-size`). */
  defaultSizeBytes?: number;
  qemuImg: () => string;
  onNotice?: (message: string) => void;
}

/**
 * Resolve `--disk` specs to files. A missing disk is created with `qemu-img create` (qcow2 unless a
 * format is given, as LinuxKit); an existing one is used as it is: never recreated, resized or
 * reformatted. Unnamed disks live in the state directory as disk.img, disk1.img..., LinuxKit's names.
 */
export async function prepareDisks(
  specs: readonly DiskSpec[],
  options: PrepareDisksOptions,
): Promise<PreparedDisk[]> {
  const out: PreparedDisk[] = [];
  const seen = new Set<string>();
  for (const [i, spec] of specs.entries()) {
    const sizeBytes = spec.sizeBytes ?? options.defaultSizeBytes;
    const path =
      spec.path !== undefined
        ? resolve(options.cwd ?? process.cwd(), spec.path)
        : join(options.stateDir, `disk${i === 0 ? "" : i}.img`);
    if (seen.has(path)) throw new UsageError(`--disk ${spec.path ?? path}: the same disk is given twice`);
    seen.add(path);
    const iface = spec.interface ?? "virtio";
    const existing = await stat(path).catch(() => undefined);
    if (existing) {
      if (!existing.isFile()) throw new KilnError(`--disk ${path}: not a regular file`);
      const format = await detectImageFormat(path);
      if (spec.format && spec.format !== format) {
        throw new KilnError(`--disk ${path}: the file is ${format}, not ${spec.format}`, {
          hint: `kiln never converts an existing disk; drop format=${spec.format} or give another file name`,
        });
      }
      if (sizeBytes !== undefined && sizeBytes !== existing.size && format === "raw") {
        options.onNotice?.(
          `using the existing disk ${path} (${formatSize(existing.size)}) as it is; kiln never resizes a disk`,
        );
      }
      out.push({ path, format, interface: iface, created: false });
      continue;
    }
    if (sizeBytes === undefined) {
      throw new KilnError(`--disk ${path}: no such file, and no size to create it with`, {
        hint: `e.g. --disk ${spec.path ?? path},size=4G`,
      });
    }
    const format = spec.format ?? "qcow2";
    if (format !== "raw" && format !== "qcow2") {
      throw new UsageError(`--disk ${path}: kiln creates raw or qcow2 disks, not ${format}`);
    }
    await createDisk(options.qemuImg(), path, format, sizeBytes);
    options.onNotice?.(`created ${format} disk ${path} (${formatSize(sizeBytes)})`);
    out.push({ path, format, interface: iface, created: true });
  }
  return out;
}

/**
 * Create the image under a temp name and hard-link it into place: link() fails if the name appeared in
 * the meantime, so a disk someone else just made is never replaced.
 */
async function createDisk(
  qemuImg: string,
  path: string,
  format: "raw" | "qcow2",
  sizeBytes: number,
): Promise<void> {
  const dir = await mkdtemp(join(dirname(path), `.${basename(path)}.tmp-`)).catch(
    (e: NodeJS.ErrnoException) => {
      throw new KilnError(`--disk ${path}: cannot create it there (${e.code})`, {
        hint: "check that the directory exists and is writable",
      });
    },
  );
  try {
    const tmp = join(dir, basename(path));
    const r = await runTool(qemuImg, ["create", "-q", "-f", format, tmp, String(sizeBytes)]);
    if (r.code !== 0) throw new KilnError(`qemu-img could not create ${path}: ${r.stderr.trim()}`);
    try {
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      throw new KilnError(`--disk ${path}: appeared while kiln was creating it; left it alone`, {
        hint: "run again to use it",
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
