import { parseBind } from "../fields.js";
import { allocateIds } from "../ids.js";
import { KilnError } from "../kiln-error.js";
import type { ImageEntry, MountEntry, RawConfig } from "../schema.js";
import { goMarshalIndent } from "./go-json.js";
import { type ImageConfig, parseLabel } from "./image-config.js";
import { toOciSpec } from "./oci-config.js";
import { type BundlePlacement, toRuntime } from "./runtime-config.js";
import type { LinuxkitRuntime, OciSpec } from "./spec-types.js";

export type ContainerSection = "onboot" | "onshutdown" | "services";

export interface Bundle {
  section: ContainerSection;
  index: number;
  name: string;
  image: string;
  placement: BundlePlacement;
  /** True for the first bundle of an image: it is the one that unpacks the image's filesystem at `root`. */
  unpacksImage: boolean;
  spec: OciSpec;
  runtime: LinuxkitRuntime;
  /** The bytes of `<prefix>/config.json` and `<prefix>/runtime.json`, as LinuxKit writes them. */
  configJson: string;
  runtimeJson: string;
}

export const volumePath = (name: string) => `/containers/volumes/${name}/merged`;

export function bundlePrefix(section: ContainerSection, index: number, name: string): string {
  return section === "services"
    ? `containers/services/${name}`
    : `containers/${section}/${String(index).padStart(3, "0")}-${name}`;
}

/** Binds and bind mounts that name a volume point at its merged directory. */
function withVolumePaths(e: ImageEntry): ImageEntry {
  const rewrite = (b: string) => {
    const bind = parseBind(b);
    if (bind.error || bind.source.startsWith("/")) return b;
    return [volumePath(bind.source), ...b.split(":").slice(1)].join(":");
  };
  const mount = (m: MountEntry): MountEntry =>
    m.type === "bind" && m.source !== undefined && m.source !== "" && !m.source.startsWith("/")
      ? { ...m, source: volumePath(m.source) }
      : m;
  const out: ImageEntry = { ...e };
  if (e.binds) out.binds = e.binds.map(rewrite);
  if (e["binds.add"]) out["binds.add"] = e["binds.add"].map(rewrite);
  if (e.mounts) out.mounts = e.mounts.map(mount);
  return out;
}

/**
 * Plan every onboot, onshutdown and service bundle of a validated config: where it goes, which image
 * it unpacks (each image once), and its config.json and runtime.json.
 * `imageConfig` returns the config of an image by the reference as it appears in the config.
 */
export function planBundles(config: RawConfig, imageConfig: (ref: string) => ImageConfig): Bundle[] {
  const ids = allocateIds(config);
  const unpackedAt = new Map<string, string>();
  const bundles: Bundle[] = [];
  for (const section of ["onboot", "onshutdown", "services"] as const) {
    (config[section] ?? []).forEach((raw, index) => {
      const cfg = imageConfig(raw.image);
      const label = parseLabel(raw.image, cfg);
      const entry = withVolumePaths(raw);
      const readonly = (entry.readonly !== undefined ? entry.readonly : label.readonly) ?? false;
      const prefix = bundlePrefix(section, index, entry.name);
      const first = unpackedAt.get(raw.image);
      const root = first ?? `${prefix}/${readonly ? "rootfs" : "lower"}`;
      if (first === undefined) unpackedAt.set(raw.image, root);
      const placement: BundlePlacement = { prefix, readonly, root };
      let spec: OciSpec;
      try {
        spec = toOciSpec({ entry, imageConfig: cfg, label, ids });
      } catch (e) {
        if (e instanceof KilnError) {
          throw new KilnError(
            `${section}[${index}] (${raw.image}): ${e.message}`,
            e.hint ? { hint: e.hint } : {},
          );
        }
        throw e;
      }
      const runtime = toRuntime(entry, label, placement);
      bundles.push({
        section,
        index,
        name: entry.name,
        image: raw.image,
        placement,
        unpacksImage: first === undefined,
        spec,
        runtime,
        configJson: goMarshalIndent(spec),
        runtimeJson: goMarshalIndent(runtime),
      });
    });
  }
  return bundles;
}
