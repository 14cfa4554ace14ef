import type { ImageConfigFields, ImageEntry } from "../schema.js";
import { runtimeMount } from "./oci-config.js";
import type { LinuxkitRuntime, OciMount } from "./spec-types.js";

/** Where a container's bundle lives in the appliance, and where its root filesystem comes from. */
export interface BundlePlacement {
  /** `containers/onboot/000-name`, `containers/onshutdown/000-name` or `containers/services/name`. */
  prefix: string;
  readonly: boolean;
  /**
   * The directory holding the image's filesystem: `<prefix>/rootfs` (readonly) or `<prefix>/lower`,
   * or the first bundle's when another container already unpacked the same image.
   */
  root: string;
}

/** The mounts init makes before `runc create`: a writable overlay over the image, or a read-only self-bind. */
function rootMounts(b: BundlePlacement): OciMount[] {
  if (b.readonly) return [{ destination: `/${b.prefix}/rootfs`, source: `/${b.root}`, options: ["bind"] }];
  return [
    { destination: `/${b.prefix}/tmp`, type: "tmpfs", source: "tmpfs" },
    { destination: `/${b.prefix}/tmp`, options: ["remount", "private"] },
    {
      destination: `/${b.prefix}/rootfs`,
      type: "overlay",
      source: "overlay",
      options: [`lowerdir=/${b.root}`, `upperdir=/${b.prefix}/tmp/upper`, `workdir=/${b.prefix}/tmp/work`],
    },
  ];
}

/** runtime.json: each field from the YAML, else the label, else empty; every key always present. */
export function toRuntime(e: ImageEntry, label: ImageConfigFields, bundle: BundlePlacement): LinuxkitRuntime {
  const y = e.runtime ?? {};
  const l = label.runtime ?? {};
  const ns = (k: keyof NonNullable<typeof y.bindNS>) => y.bindNS?.[k] ?? l.bindNS?.[k] ?? "";
  return {
    cgroups: y.cgroups ?? l.cgroups ?? [],
    mounts: [...rootMounts(bundle), ...(y.mounts ?? l.mounts ?? []).map(runtimeMount)],
    mkdir: y.mkdir ?? l.mkdir ?? [],
    interfaces: (y.interfaces ?? l.interfaces ?? []).map((i) => ({
      name: i.name || undefined,
      add: i.add || undefined,
      peer: i.peer || undefined,
      createInRoot: i.createInRoot ?? false,
    })),
    bindNS: {
      cgroup: ns("cgroup"),
      ipc: ns("ipc"),
      mnt: ns("mnt"),
      net: ns("net"),
      pid: ns("pid"),
      user: ns("user"),
      uts: ns("uts"),
    },
    namespace: y.namespace ?? l.namespace ?? "",
  };
}
