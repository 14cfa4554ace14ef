// The whole appliance as one ordered stream of entries, laid out as LinuxKit v1.8.2 lays it out:
//   kernel (boot/kernel, boot/cmdline, boot/ucode.cpio, the modules tarball's entries at the root)
//   init images merged at /, then the union of their Alpine package databases
//   volumes, then the onboot, onshutdown and services bundles
//   files
// Nothing is written to disk: the tar and cpio writers consume this stream directly.

import { createHash } from "node:crypto";
import { allocateIds, type Bundle, planBundles, type RawConfig } from "@kiln/spec";
import type { FlatEntry } from "../flatten/entry.js";
import { ApkDatabases } from "./apk-db.js";
import { bundleSegments, type Segment } from "./bundles.js";
import { fileEntries } from "./files.js";
import type { ApplianceImage } from "./image.js";
import { kernelEntries } from "./kernel.js";
import { MergedRoot } from "./merge-root.js";
import { renderMetadata } from "./metadata.js";
import { RESOLV_CONF_LINK, unpackImage } from "./unpack.js";
import { volumeEntries } from "./volumes.js";

export interface AssembleInput {
  /** The merged, validated config (spec's `loadConfig(...).config`). */
  config: RawConfig;
  /** Every image the config names, by the reference as the config writes it. */
  image(ref: string): ApplianceImage;
  /** The time stamp of every generated entry: SOURCE_DATE_EPOCH, or LinuxKit's 2017-04-18T16:30:00Z. */
  mtime: Date;
  /** Directory a relative `files[i].source` is read from (its YAML file's directory). Default: cwd. */
  fileBaseDir?: (index: number) => string;
  signal?: AbortSignal;
}

/** The bundles of a config: where each goes, and its config.json and runtime.json. */
export function applianceBundles(config: RawConfig, image: (ref: string) => ApplianceImage): Bundle[] {
  return planBundles(config, (ref) => image(ref).config);
}

/** The metadata a `files: [{metadata: ...}]` entry holds for this config. */
export function applianceMetadata(
  config: RawConfig,
  format: "yaml" | "json",
  image: (ref: string) => ApplianceImage,
): string {
  return renderMetadata(config, format, (ref) => image(ref).source);
}

/** The kernel, the init images merged at /, and the volumes: what comes before the bundles. */
async function* rootEntries(input: AssembleInput): AsyncGenerator<FlatEntry> {
  const { config, image, mtime, signal } = input;
  const sig = signal ? { signal } : {};
  const root = new MergedRoot();
  if (config.kernel)
    yield* root.merge(kernelEntries(image(config.kernel.image), config.kernel, { mtime, ...sig }));

  const apk = new ApkDatabases();
  for (const [i, ref] of (config.init ?? []).entries()) {
    yield* apk.watch(
      root.merge(
        unpackImage(image(ref), {
          prefix: "",
          location: `init[${i}]`,
          resolvConfLink: RESOLV_CONF_LINK,
          mtime,
          ...sig,
        }),
      ),
    );
  }
  yield* apk.union();

  yield* volumeEntries(config.volumes ?? [], image, mtime, signal);
}

/** Bumped whenever the root's entries would change for the same images and settings. */
const ROOT_VERSION = 1;

/**
 * The root run's key: everything `rootEntries` reads, image contents by digest. The kernel's command
 * line is left out: it only shapes `boot/cmdline`, which the initrd does not hold.
 */
function rootKey(input: AssembleInput): Segment["key"] {
  const { config, image, mtime } = input;
  const { cmdline: _cmdline, ...kernel } = config.kernel ?? { image: "" };
  const refs = [
    ...(config.kernel ? [config.kernel.image] : []),
    ...(config.init ?? []),
    ...(config.volumes ?? []).flatMap((v) => (v.image === undefined ? [] : [v.image])),
  ];
  const images = refs.map((r) => image(r));
  const digests = images.map((i) => i.digest);
  if (images.length === 0 || digests.some((d) => d === undefined)) return undefined;
  const id = createHash("sha256")
    .update(
      JSON.stringify({
        root: ROOT_VERSION,
        kernel: config.kernel ? kernel : null,
        init: config.init ?? [],
        volumes: config.volumes ?? [],
        digests: Object.fromEntries(refs.map((r, i) => [r, digests[i]])),
        mtime: mtime.getTime(),
      }),
    )
    .digest("hex");
  const layerBytes = images.reduce((n, i) => n + (i.layerBytes ?? 0), 0);
  return { image: digests[0]!, id, layerBytes };
}

/** The `files:` section, after the bundles. */
async function* fileSection(input: AssembleInput): AsyncGenerator<FlatEntry> {
  const { config, image, mtime } = input;
  const metadata = new Map<string, string>();
  yield* fileEntries(config.files ?? [], {
    mtime,
    ids: allocateIds(config),
    baseDir: input.fileBaseDir ?? (() => process.cwd()),
    metadata: (format) => {
      let text = metadata.get(format);
      if (text === undefined) {
        text = applianceMetadata(config, format, image);
        metadata.set(format, text);
      }
      return text;
    },
  });
}

/**
 * The appliance as runs of entries, in order: what `assembleAppliance` yields, cut where a run depends on
 * one image alone (a bundle's unpacked root filesystem, with a `key`), so writers can reuse what they made
 * of it before.
 */
export function* assembleSegments(input: AssembleInput): Generator<Segment> {
  const bundles = applianceBundles(input.config, input.image);
  const key = rootKey(input);
  yield key ? { key, entries: () => rootEntries(input) } : { entries: () => rootEntries(input) };
  yield* bundleSegments(bundles, input.image, input.mtime, input.signal);
  yield { entries: () => fileSection(input) };
}

/**
 * Assemble the appliance: every entry of LinuxKit's rootfs tar, in LinuxKit's order, each carrying the
 * `LINUXKIT.source` and `LINUXKIT.location` PAX records. Bundle configs are planned before the first entry
 * is yielded, so a bad label fails the build before anything is written. Each file's body must be
 * consumed before the next entry is pulled (see `flattenLayers`).
 */
export async function* assembleAppliance(input: AssembleInput): AsyncGenerator<FlatEntry> {
  for (const segment of assembleSegments(input)) {
    for await (const fe of segment.entries()) {
      input.signal?.throwIfAborted();
      yield fe;
    }
  }
}
