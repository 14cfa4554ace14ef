import { ALL_CAPABILITIES, isCapability } from "../capabilities.js";
import { bindOptions, normalizeMount, parseBind, parseMode, parseRlimit, parseTmpfs } from "../fields.js";
import { resolveId } from "../ids.js";
import { KilnError } from "../kiln-error.js";
import type { ImageConfigFields, ImageEntry, MountEntry, ResourcesEntry } from "../schema.js";
import { compareBytes, sortedMap } from "./go-json.js";
import type { ImageConfig } from "./image-config.js";
import {
  OCI_VERSION,
  type OciCapabilities,
  type OciDevice,
  type OciDeviceRule,
  type OciIdMapping,
  type OciMount,
  type OciNamespace,
  type OciResources,
  type OciSpec,
} from "./spec-types.js";

export interface ContainerSource {
  /** The YAML entry, volume binds already rewritten to their /containers/volumes paths. */
  entry: ImageEntry;
  imageConfig: ImageConfig;
  label: ImageConfigFields;
  ids: ReadonlyMap<string, number>;
}

/** Lists: the YAML's when set (even empty), else the label's. LinuxKit's pointer semantics. */
function pick<T>(yaml: T | undefined, label: T | undefined): T | undefined {
  return yaml !== undefined ? yaml : label;
}

/** Plain strings: the first non-empty one. */
function firstNonEmpty(...values: Array<string | undefined>): string {
  for (const v of values) if (v !== undefined && v !== "") return v;
  return "";
}

/** LinuxKit's mergeStrings: concatenation, duplicates kept (see docs/compatibility.md). */
function concat(a: string[] | undefined, b: string[] | undefined): string[] {
  return [...(a ?? []), ...(b ?? [])];
}

function expandCaps(list: string[], what: string, container: string): string[] {
  if (list.length === 1) {
    const l = list[0]!.toLowerCase();
    if (l === "none") return [];
    if (l === "all") return [...ALL_CAPABILITIES];
  }
  for (const cap of list) {
    if (!isCapability(cap)) {
      throw new KilnError(`container ${container}: unknown capability in ${what}: ${cap}`, {
        hint: "capabilities are written like CAP_NET_ADMIN; `all` and `none` only work alone",
      });
    }
  }
  return list;
}

function capabilities(e: ImageEntry, label: ImageConfigFields): OciCapabilities {
  const caps = expandCaps(
    e.capabilities !== undefined ? e.capabilities : concat(label.capabilities, e["capabilities.add"]),
    "capabilities",
    e.name,
  );
  const ambient = expandCaps(pick(e.ambient, label.ambient) ?? [], "ambient", e.name);
  const set = [...new Set([...caps, ...ambient])].sort(compareBytes);
  const nonEmpty = (l: string[]) => (l.length > 0 ? l : undefined);
  return {
    bounding: nonEmpty(set),
    effective: nonEmpty(caps),
    inheritable: nonEmpty(set),
    permitted: nonEmpty(set),
    ambient: nonEmpty(ambient),
  };
}

function defaultMounts(readonly: boolean): OciMount[] {
  const ro = readonly ? ["ro"] : [];
  return [
    {
      destination: "/proc",
      type: "proc",
      source: "proc",
      options: ["nosuid", "nodev", "noexec", "relatime"],
    },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k", ...ro],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", ...ro] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

function fail(container: string, message: string): KilnError {
  return new KilnError(`container ${container}: ${message}`);
}

/** Defaults, then tmpfs, then binds, then mounts; a later mount at the same destination replaces an earlier one. */
function mounts(e: ImageEntry, label: ImageConfigFields, readonly: boolean): OciMount[] {
  const byDest = new Map<string, OciMount>();
  for (const m of defaultMounts(readonly)) byDest.set(m.destination, m);
  for (const t of pick(e.tmpfs, label.tmpfs) ?? []) {
    const tmpfs = parseTmpfs(t);
    if (tmpfs.error) throw fail(e.name, tmpfs.error);
    byDest.set(tmpfs.destination, {
      destination: tmpfs.destination,
      type: "tmpfs",
      source: "tmpfs",
      options: tmpfs.options,
    });
  }
  const binds = e.binds !== undefined ? e.binds : concat(label.binds, e["binds.add"]);
  for (const b of binds) {
    const bind = parseBind(b);
    if (bind.error) throw fail(e.name, bind.error);
    byDest.set(bind.destination, {
      destination: bind.destination,
      type: "bind",
      source: bind.source,
      options: bindOptions(bind),
    });
  }
  for (const m of pick(e.mounts, label.mounts) ?? []) {
    const spec = normalizeMount(m);
    if (spec.error) throw fail(e.name, spec.error);
    byDest.set(spec.destination, {
      destination: spec.destination,
      type: spec.type,
      source: spec.source,
      options: spec.options && spec.options.length > 0 ? spec.options : undefined,
    });
  }
  return [...byDest.values()].sort((a, b) => compareBytes(a.destination, b.destination));
}

function namespaces(e: ImageEntry, label: ImageConfigFields): OciNamespace[] {
  const out: OciNamespace[] = [];
  const add = (type: OciNamespace["type"], value: string, isNew: (v: string) => boolean) => {
    if (value === "host" || value === "root") return;
    out.push(isNew(value) ? { type } : { type, path: value });
  };
  // `none` means a new namespace for every type; LinuxKit only does this for net (docs/compatibility.md).
  const fresh = (v: string) => v === "new" || v === "none";
  add("network", firstNonEmpty(e.net, label.net, "root"), fresh);
  add("ipc", firstNonEmpty(e.ipc, label.ipc, "root"), fresh);
  add("uts", firstNonEmpty(e.uts, label.uts, "root"), fresh);
  add("pid", firstNonEmpty(e.pid, label.pid), (v) => v === "" || fresh(v));
  add("user", firstNonEmpty(e.userns, label.userns, "root"), fresh);
  out.push({ type: "mount" });
  return out;
}

function idMappings(list: Array<{ hostID?: number; containerID?: number; size?: number }> | undefined) {
  if (!list || list.length === 0) return undefined;
  return list.map(
    (m): OciIdMapping => ({ containerID: m.containerID ?? 0, hostID: m.hostID ?? 0, size: m.size ?? 0 }),
  );
}

/** YAML resources (LinuxKit's schema spelling) to the OCI form, members in runtime-spec order. */
function resources(r: ResourcesEntry | undefined): OciResources {
  if (!r) return {};
  const out: OciResources = {};
  if (r.devices) {
    out.devices = r.devices.map((d) => ({
      allow: d.allow,
      type: d.type || undefined,
      major: d.major,
      minor: d.minor,
      access: d.access || undefined,
    }));
  }
  if (r.memory) {
    const m = r.memory;
    out.memory = {
      limit: m.limit,
      reservation: m.reservation,
      swap: m.swap,
      kernel: m.kernel,
      kernelTCP: m.kernelTCP,
      swappiness: m.swappiness,
      disableOOMKiller: m.disableOOMKiller,
    } as OciResources["memory"];
  }
  if (r.cpu) {
    const c = r.cpu;
    out.cpu = {
      shares: c.shares,
      quota: c.quota,
      period: c.period,
      realtimeRuntime: c.realtimeRuntime,
      realtimePeriod: c.realtimePeriod,
      cpus: c.cpus || undefined,
      mems: c.mems || undefined,
    } as OciResources["cpu"];
  }
  if (r.pids) out.pids = { limit: r.pids.limit ?? 0 };
  if (r.blockio) {
    const b = r.blockio;
    const devs = <T>(l: T[] | undefined) => (l && l.length > 0 ? l : undefined);
    out.blockIO = {
      weight: b.weight,
      leafWeight: b.leafWeight,
      weightDevice: devs(b.weightDevice)?.map((d) => ({
        major: d.major,
        minor: d.minor,
        weight: d.weight,
        leafWeight: d.leafWeight,
      })),
      throttleReadBpsDevice: devs(b.throttleReadBpsDevice),
      throttleWriteBpsDevice: devs(b.throttleWriteBpsDevice),
      throttleReadIOPSDevice: devs(b.throttleReadIOPSDevice),
      throttleWriteIOPSDevice: devs(b.throttleWriteIOPSDevice),
    };
  }
  if (r.hugepageLimits && r.hugepageLimits.length > 0) {
    out.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: String(h.pageSize), limit: h.limit }));
  }
  if (r.network) {
    out.network = {
      classID: r.network.classID,
      priorities: r.network.priorities && r.network.priorities.length > 0 ? r.network.priorities : undefined,
    };
  }
  return out;
}

function devices(e: ImageEntry, label: ImageConfigFields, res: OciResources): OciDevice[] | undefined {
  const list = pick(e.devices, label.devices) ?? [];
  const out: OciDevice[] = [];
  const rules: OciDeviceRule[] = res.devices ?? [];
  for (const d of list) {
    if (d.path === "all") {
      rules.push({ allow: true, type: d.type || undefined, access: "rwm" });
      continue;
    }
    const fileMode = d.mode === undefined ? undefined : parseMode(d.mode);
    if (fileMode === undefined) throw fail(e.name, `device ${d.path} needs an octal mode, e.g. "0666"`);
    out.push({ path: d.path, type: d.type, major: d.major ?? 0, minor: d.minor ?? 0, fileMode });
    rules.push({ allow: true, type: d.type, major: d.major ?? 0, minor: d.minor ?? 0, access: "rwm" });
  }
  if (rules.length > 0) res.devices = rules;
  return out.length > 0 ? out : undefined;
}

/**
 * The OCI runtime spec (config.json) for one container, as LinuxKit's ConfigToOCI builds it.
 * Precedence for every field: YAML, then the image's org.mobyproject.config label, then the image config.
 */
export function toOciSpec(src: ContainerSource): OciSpec {
  const { entry: e, imageConfig: cfg, label, ids } = src;
  const readonly = pick(e.readonly, label.readonly) ?? false;
  const args = pick(e.command, label.command) ?? [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  const env = pick(e.env, label.env) ?? cfg.Env ?? [];
  const rlimits = (pick(e.rlimits, label.rlimits) ?? []).map((text) => {
    const r = parseRlimit(text);
    if (r.error) throw fail(e.name, r.error);
    return { type: r.type, hard: r.hard, soft: r.soft };
  });
  const resolve = (v: number | string | undefined) => {
    try {
      return resolveId(v, ids);
    } catch (err) {
      throw fail(e.name, (err as Error).message);
    }
  };
  const additionalGids = (pick(e.additionalGids, label.additionalGids) ?? []).map(resolve);
  const res = resources(pick(e.resources, label.resources));
  const devs = devices(e, label, res);
  const sysctl = pick(e.sysctl, label.sysctl) ?? {};
  const annotations = pick(e.annotations, label.annotations) ?? {};
  const noNewPrivileges = pick(e.noNewPrivileges, label.noNewPrivileges) ?? false;
  const oomScoreAdj = pick(e.oomScoreAdj, label.oomScoreAdj);
  const list = (l: string[] | undefined) => (l && l.length > 0 ? l : undefined);
  return {
    ociVersion: OCI_VERSION,
    process: {
      user: {
        uid: resolve(pick(e.uid, label.uid)),
        gid: resolve(pick(e.gid, label.gid)),
        additionalGids: additionalGids.length > 0 ? additionalGids : undefined,
      },
      args: list(args),
      env: list(env),
      cwd: firstNonEmpty(e.cwd, label.cwd, cfg.WorkingDir, "/"),
      capabilities: capabilities(e, label),
      rlimits: rlimits.length > 0 ? rlimits : undefined,
      noNewPrivileges: noNewPrivileges ? true : undefined,
      oomScoreAdj,
    },
    root: { path: "rootfs", readonly: readonly ? true : undefined },
    hostname: firstNonEmpty(e.hostname, label.hostname) || undefined,
    mounts: mounts(e, label, readonly),
    annotations: Object.keys(annotations).length > 0 ? sortedMap(annotations) : undefined,
    linux: {
      uidMappings: idMappings(pick(e.uidMappings, label.uidMappings)),
      gidMappings: idMappings(pick(e.gidMappings, label.gidMappings)),
      sysctl: Object.keys(sysctl).length > 0 ? sortedMap(sysctl) : undefined,
      resources: res,
      cgroupsPath: pick(e.cgroupsPath, label.cgroupsPath) || undefined,
      namespaces: namespaces(e, label),
      devices: devs,
      rootfsPropagation: pick(e.rootfsPropagation, label.rootfsPropagation) || undefined,
      maskedPaths: list(pick(e.maskedPaths, label.maskedPaths)),
      readonlyPaths: list(pick(e.readonlyPaths, label.readonlyPaths)),
    },
  };
}

/** Runtime mounts pass through as written (no inference), in the OCI member order. */
export function runtimeMount(m: MountEntry): OciMount {
  return {
    destination: m.destination ?? "",
    type: m.type || undefined,
    source: m.source || undefined,
    options: m.options && m.options.length > 0 ? m.options : undefined,
    uidMappings: idMappings(m.uidmappings),
    gidMappings: idMappings(m.gidmappings),
  };
}
