// Every output format, one row each: the CLI's --format choices and the docs come from this table.

import { didYouMean, UsageError } from "@kiln/spec";
import { dockerFormat } from "./docker.js";
import { isoBiosFormat } from "./iso-bios.js";
import { isoEfiFormat, isoEfiInitrdFormat } from "./iso-efi.js";
import { kernelInitrdFormat } from "./kernel-initrd.js";
import { kernelSquashfsFormat } from "./kernel-squashfs.js";
import { qcow2BiosFormat, qcow2EfiFormat } from "./qcow2.js";
import { rawBiosFormat } from "./raw-bios.js";
import { rawEfiFormat } from "./raw-efi.js";
import { tarFormat } from "./tar.js";
import { tarKernelInitrdFormat } from "./tar-kernel-initrd.js";
import type { FormatWriter } from "./types.js";
import { vhdFormat } from "./vhd.js";
import { vmdkFormat } from "./vmdk.js";

export const FORMATS: readonly FormatWriter[] = [
  kernelInitrdFormat,
  tarKernelInitrdFormat,
  tarFormat,
  dockerFormat,
  isoBiosFormat,
  isoEfiFormat,
  isoEfiInitrdFormat,
  kernelSquashfsFormat,
  rawBiosFormat,
  rawEfiFormat,
  qcow2BiosFormat,
  qcow2EfiFormat,
  vhdFormat,
  vmdkFormat,
];

/**
 * LinuxKit's other formats, each still waiting for its writer.
 * TODO(formats): add a row to FORMATS and remove the name here as each lands.
 */
export const PLANNED_FORMATS: readonly string[] = [
  "kernel+iso",
  "kernel+erofs",
  "dynamic-vhd",
  "gcp",
  "aws",
  "rpi3",
];

/** The writer of a `--format` name; a usage error naming the choices otherwise. */
export function formatWriter(name: string): FormatWriter {
  const writer = FORMATS.find((f) => f.name === name);
  if (writer) return writer;
  const names = FORMATS.map((f) => f.name);
  if (PLANNED_FORMATS.includes(name)) {
    throw new UsageError(
      `format ${name} is not supported by this version of kiln yet`,
      `available formats: ${names.join(", ")}`,
    );
  }
  throw new UsageError(
    `unknown format "${name}"`,
    didYouMean(name, [...names, ...PLANNED_FORMATS]) ?? `available formats: ${names.join(", ")}`,
  );
}
