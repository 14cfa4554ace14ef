// `files: [{metadata: yaml|json}]`: the resolved config, written the way LinuxKit writes its `Moby` struct
// (yaml.v2 `Marshal` or `json.MarshalIndent` with four spaces). The config is first turned into a model of
// the Go values (which field is a pointer, which has omitempty, what Go calls it in each encoding), and
// both encodings are rendered from that one model, so the two cannot drift apart.

import type {
  FileEntry,
  ImageEntry,
  MountEntry,
  RawConfig,
  ResourcesEntry,
  RuntimeEntry,
  VolumeEntry,
} from "@kiln/spec";
import { compareBytes, goMarshalIndent } from "@kiln/spec";
import { marshalYamlV2, type YNode, yamlV2KeyLess } from "./yaml-v2.js";

type GoVal =
  | { t: "str"; v: string }
  | { t: "int"; v: number | bigint }
  | { t: "bool"; v: boolean }
  /** A nil pointer, slice or map; yaml.v2 writes them as `null`, `[]` and `{}`. */
  | { t: "nil"; as: "ptr" | "slice" | "map" }
  | { t: "slice"; v: GoVal[] }
  | { t: "map"; v: Array<[string, GoVal]> }
  | { t: "struct"; v: GoField[] };

interface GoField {
  /** The yaml.v2 key: the tag's name, else the Go field name in lower case. */
  yaml: string;
  json: string;
  value: GoVal;
  yamlOmitEmpty?: boolean;
  jsonOmitEmpty?: boolean;
  /** A pointer or interface: "empty" only when nil, whatever it points at. */
  ptr?: boolean;
  /** An embedded struct: JSON promotes its fields, yaml.v2 nests it under the lower-cased type name. */
  embedded?: boolean;
}

// --- building the model ---

const str = (v: string): GoVal => ({ t: "str", v });
const int = (v: number | bigint): GoVal => ({ t: "int", v });
const bool = (v: boolean): GoVal => ({ t: "bool", v });
const NIL_PTR: GoVal = { t: "nil", as: "ptr" };
const NIL_SLICE: GoVal = { t: "nil", as: "slice" };
const struct = (fields: GoField[]): GoVal => ({ t: "struct", v: fields });

function slice<T>(list: readonly T[] | undefined, each: (item: T) => GoVal): GoVal {
  return list === undefined ? NIL_SLICE : { t: "slice", v: list.map(each) };
}

function stringMap(m: Record<string, string> | undefined): GoVal {
  return m === undefined ? NIL_PTR : { t: "map", v: Object.entries(m).map(([k, v]) => [k, str(v)]) };
}

/** An `interface{}` id as yaml.v3 decoded it: a number or a container name. */
const idValue = (v: number | string): GoVal => (typeof v === "number" ? int(v) : str(v));

/** Same name in both encodings, with the tag's omitempty in both. */
function field(name: string, value: GoVal, omitEmpty = false, ptr = false): GoField {
  return { yaml: name, json: name, value, yamlOmitEmpty: omitEmpty, jsonOmitEmpty: omitEmpty, ptr };
}

/** A pointer field with `omitempty` in both tags (most of LinuxKit's ImageConfig). */
function opt<T>(name: string, v: T | undefined, make: (v: T) => GoVal): GoField {
  return field(name, v === undefined ? NIL_PTR : make(v), true, true);
}

/** A field of a runtime-spec struct: yaml.v2 uses the lower-cased Go name and never omits. */
function spec(goName: string, jsonName: string, value: GoVal, jsonOmitEmpty = true, ptr = false): GoField {
  return { yaml: goName.toLowerCase(), json: jsonName, value, jsonOmitEmpty, ptr };
}

const strings = (list: readonly string[]) => slice(list, str);
const optInt = (v: number | undefined) => (v === undefined ? NIL_PTR : int(v));
const optBool = (v: boolean | undefined) => (v === undefined ? NIL_PTR : bool(v));

type IdMapping = { hostID?: number | undefined; containerID?: number | undefined; size?: number | undefined };

function idMapping(m: IdMapping): GoVal {
  return struct([
    spec("ContainerID", "containerID", int(m.containerID ?? 0), false),
    spec("HostID", "hostID", int(m.hostID ?? 0), false),
    spec("Size", "size", int(m.size ?? 0), false),
  ]);
}

function mount(m: MountEntry): GoVal {
  return struct([
    spec("Destination", "destination", str(m.destination ?? ""), false),
    spec("Type", "type", str(m.type ?? "")),
    spec("Source", "source", str(m.source ?? "")),
    spec("Options", "options", slice(m.options, str)),
    spec("UIDMappings", "uidMappings", slice(m.uidmappings, idMapping)),
    spec("GIDMappings", "gidMappings", slice(m.gidmappings, idMapping)),
  ]);
}

function blockIODevice(d: { major: number; minor: number }): GoField {
  return {
    yaml: "linuxblockiodevice",
    json: "",
    embedded: true,
    value: struct([spec("Major", "major", int(d.major), false), spec("Minor", "minor", int(d.minor), false)]),
  };
}

function throttleDevices(list: ReadonlyArray<{ major: number; minor: number; rate: number }> | undefined) {
  return slice(list, (d) => struct([blockIODevice(d), spec("Rate", "rate", int(d.rate), false)]));
}

function resources(r: ResourcesEntry): GoVal {
  const m = r.memory;
  const c = r.cpu;
  const b = r.blockio;
  const n = r.network;
  return struct([
    spec(
      "Devices",
      "devices",
      slice(r.devices, (d) =>
        struct([
          spec("Allow", "allow", bool(d.allow), false),
          spec("Type", "type", str(d.type ?? "")),
          spec("Major", "major", optInt(d.major), true, true),
          spec("Minor", "minor", optInt(d.minor), true, true),
          spec("Access", "access", str(d.access ?? "")),
        ]),
      ),
    ),
    spec(
      "Memory",
      "memory",
      m === undefined
        ? NIL_PTR
        : struct([
            spec("Limit", "limit", optInt(m.limit), true, true),
            spec("Reservation", "reservation", optInt(m.reservation), true, true),
            spec("Swap", "swap", optInt(m.swap), true, true),
            spec("Kernel", "kernel", optInt(m.kernel), true, true),
            spec("KernelTCP", "kernelTCP", optInt(m.kernelTCP), true, true),
            spec("Swappiness", "swappiness", optInt(m.swappiness), true, true),
            spec("DisableOOMKiller", "disableOOMKiller", optBool(m.disableOOMKiller), true, true),
            spec("UseHierarchy", "useHierarchy", NIL_PTR, true, true),
            spec("CheckBeforeUpdate", "checkBeforeUpdate", NIL_PTR, true, true),
          ]),
      true,
      true,
    ),
    spec(
      "CPU",
      "cpu",
      c === undefined
        ? NIL_PTR
        : struct([
            spec("Shares", "shares", optInt(c.shares), true, true),
            spec("Quota", "quota", optInt(c.quota), true, true),
            spec("Burst", "burst", NIL_PTR, true, true),
            spec("Period", "period", optInt(c.period), true, true),
            spec("RealtimeRuntime", "realtimeRuntime", optInt(c.realtimeRuntime), true, true),
            spec("RealtimePeriod", "realtimePeriod", optInt(c.realtimePeriod), true, true),
            spec("Cpus", "cpus", str(c.cpus ?? "")),
            spec("Mems", "mems", str(c.mems ?? "")),
            spec("Idle", "idle", NIL_PTR, true, true),
          ]),
      true,
      true,
    ),
    spec(
      "Pids",
      "pids",
      r.pids === undefined ? NIL_PTR : struct([spec("Limit", "limit", int(r.pids.limit ?? 0), false)]),
      true,
      true,
    ),
    spec(
      "BlockIO",
      "blockIO",
      b === undefined
        ? NIL_PTR
        : struct([
            spec("Weight", "weight", optInt(b.weight), true, true),
            spec("LeafWeight", "leafWeight", optInt(b.leafWeight), true, true),
            spec(
              "WeightDevice",
              "weightDevice",
              slice(b.weightDevice, (d) =>
                struct([
                  blockIODevice(d),
                  spec("Weight", "weight", optInt(d.weight), true, true),
                  spec("LeafWeight", "leafWeight", optInt(d.leafWeight), true, true),
                ]),
              ),
            ),
            spec("ThrottleReadBpsDevice", "throttleReadBpsDevice", throttleDevices(b.throttleReadBpsDevice)),
            spec(
              "ThrottleWriteBpsDevice",
              "throttleWriteBpsDevice",
              throttleDevices(b.throttleWriteBpsDevice),
            ),
            spec(
              "ThrottleReadIOPSDevice",
              "throttleReadIOPSDevice",
              throttleDevices(b.throttleReadIOPSDevice),
            ),
            spec(
              "ThrottleWriteIOPSDevice",
              "throttleWriteIOPSDevice",
              throttleDevices(b.throttleWriteIOPSDevice),
            ),
          ]),
      true,
      true,
    ),
    spec(
      "HugepageLimits",
      "hugepageLimits",
      slice(r.hugepageLimits, (h) =>
        struct([
          spec("Pagesize", "pageSize", str(String(h.pageSize)), false),
          spec("Limit", "limit", int(h.limit), false),
        ]),
      ),
    ),
    spec(
      "Network",
      "network",
      n === undefined
        ? NIL_PTR
        : struct([
            spec("ClassID", "classID", optInt(n.classID), true, true),
            spec(
              "Priorities",
              "priorities",
              slice(n.priorities, (p) =>
                struct([
                  spec("Name", "name", str(p.name), false),
                  spec("Priority", "priority", int(p.priority), false),
                ]),
              ),
            ),
          ]),
      true,
      true,
    ),
    spec("Rdma", "rdma", { t: "nil", as: "map" }),
    spec("Unified", "unified", { t: "nil", as: "map" }),
  ]);
}

function runtime(r: RuntimeEntry): GoVal {
  const ns = r.bindNS ?? {};
  const nsField = (k: keyof typeof ns) => opt(k, ns[k], str);
  return struct([
    opt("cgroups", r.cgroups, strings),
    opt("mounts", r.mounts, (l) => slice(l, mount)),
    opt("mkdir", r.mkdir, strings),
    opt("interfaces", r.interfaces, (l) =>
      slice(l, (i) =>
        struct([
          field("name", str(i.name ?? ""), true),
          field("add", str(i.add ?? ""), true),
          field("peer", str(i.peer ?? ""), true),
          field("createInRoot", bool(i.createInRoot ?? false)),
        ]),
      ),
    ),
    {
      yaml: "bindNS",
      json: "bindNS",
      yamlOmitEmpty: true,
      value: struct([
        nsField("cgroup"),
        nsField("ipc"),
        nsField("mnt"),
        nsField("net"),
        nsField("pid"),
        nsField("user"),
        nsField("uts"),
      ]),
    },
    opt("namespace", r.namespace, str),
  ]);
}

function image(e: ImageEntry, refName: (ref: string) => string): GoVal {
  const s = (name: string, v: string | undefined) => field(name, str(v ?? ""), true);
  return struct([
    field("name", str(e.name)),
    field("image", str(refName(e.image))),
    opt("capabilities", e.capabilities, strings),
    opt("capabilities.add", e["capabilities.add"], strings),
    opt("ambient", e.ambient, strings),
    opt("mounts", e.mounts, (l) => slice(l, mount)),
    opt("binds", e.binds, strings),
    opt("binds.add", e["binds.add"], strings),
    opt("devices", e.devices, (l) =>
      slice(l, (d) =>
        struct([
          field("path", str(d.path)),
          field("type", str(d.type)),
          field("major", int(d.major ?? 0)),
          field("minor", int(d.minor ?? 0)),
          field("mode", str(d.mode ?? ""), true),
        ]),
      ),
    ),
    opt("tmpfs", e.tmpfs, strings),
    opt("command", e.command, strings),
    opt("env", e.env, strings),
    s("cwd", e.cwd),
    s("net", e.net),
    s("pid", e.pid),
    s("ipc", e.ipc),
    s("uts", e.uts),
    s("userns", e.userns),
    s("hostname", e.hostname),
    opt("readonly", e.readonly, bool),
    opt("maskedPaths", e.maskedPaths, strings),
    opt("readonlyPaths", e.readonlyPaths, strings),
    opt("uid", e.uid, idValue),
    opt("gid", e.gid, idValue),
    opt("additionalGids", e.additionalGids, (l) => slice(l, idValue)),
    opt("noNewPrivileges", e.noNewPrivileges, bool),
    opt("oomScoreAdj", e.oomScoreAdj, int),
    opt("rootfsPropagation", e.rootfsPropagation, str),
    opt("cgroupsPath", e.cgroupsPath, str),
    opt("resources", e.resources, resources),
    opt("sysctl", e.sysctl, stringMap),
    opt("rlimits", e.rlimits, strings),
    opt("uidMappings", e.uidMappings, (l) => slice(l, idMapping)),
    opt("gidMappings", e.gidMappings, (l) => slice(l, idMapping)),
    opt("annotations", e.annotations, stringMap),
    opt("runtime", e.runtime, runtime),
  ]);
}

function file(f: FileEntry): GoVal {
  return struct([
    field("path", str(f.path)),
    field("directory", bool(f.directory ?? false)),
    field("symlink", str(f.symlink ?? ""), true),
    opt("contents", f.contents, str),
    field("source", str(f.source ?? ""), true),
    field("metadata", str(f.metadata ?? ""), true),
    field("optional", bool(f.optional ?? false)),
    field("mode", str(f.mode ?? ""), true),
    opt("uid", f.uid, idValue),
    opt("gid", f.gid, idValue),
  ]);
}

function volume(v: VolumeEntry, refName: (ref: string) => string): GoVal {
  return struct([
    field("name", str(v.name)),
    field("image", str(v.image === undefined ? "" : refName(v.image)), true),
    field("readonly", bool(v.readonly ?? false), true),
    field("format", str(v.format ?? ""), true),
    field("platforms", slice(v.platforms, str), true),
  ]);
}

function moby(config: RawConfig, refName: (ref: string) => string): GoVal {
  const k = config.kernel;
  const kernel = struct([
    field("image", str(k === undefined ? "" : refName(k.image))),
    field("cmdline", str(k?.cmdline ?? ""), true),
    field("binary", str(k?.binary ?? ""), true),
    opt("tar", k?.tar, str),
    opt("ucode", k?.ucode, str),
  ]);
  const images = (list: readonly ImageEntry[] | undefined) => slice(list, (e) => image(e, refName));
  return struct([
    // The Go struct's yaml tag is misspelt (`kernel:"..."`), so yaml.v2 falls back to the field name.
    { yaml: "kernel", json: "kernel", value: kernel },
    field(
      "init",
      slice(config.init, (r) => str(refName(r))),
    ),
    field("onboot", images(config.onboot)),
    field("onshutdown", images(config.onshutdown)),
    field("services", images(config.services)),
    field("files", slice(config.files, file)),
    field(
      "volumes",
      slice(config.volumes, (v) => volume(v, refName)),
    ),
  ]);
}

// --- rendering ---

function yamlZero(f: GoField): boolean {
  if (f.ptr) return f.value.t === "nil";
  return zero(f.value);
}

function zero(v: GoVal): boolean {
  switch (v.t) {
    case "str":
      return v.v === "";
    case "int":
      return v.v === 0 || v.v === 0n;
    case "bool":
      return !v.v;
    case "nil":
      return true;
    case "slice":
    case "map":
      return v.v.length === 0;
    case "struct":
      return v.v.every(yamlZero);
  }
}

function jsonEmpty(f: GoField): boolean {
  const v = f.value;
  if (v.t === "struct") return false;
  if (f.ptr) return v.t === "nil";
  return zero(v);
}

function toYaml(v: GoVal): YNode {
  switch (v.t) {
    case "str":
      return { kind: "str", value: v.v };
    case "int":
      return { kind: "raw", text: v.v.toString() };
    case "bool":
      return { kind: "raw", text: v.v ? "true" : "false" };
    case "nil":
      if (v.as === "slice") return { kind: "seq", items: [] };
      if (v.as === "map") return { kind: "map", entries: [] };
      return { kind: "raw", text: "null" };
    case "slice":
      return { kind: "seq", items: v.v.map(toYaml) };
    case "map": {
      const entries = [...v.v].sort(([a], [b]) => (yamlV2KeyLess(a, b) ? -1 : yamlV2KeyLess(b, a) ? 1 : 0));
      return { kind: "map", entries: entries.map(([k, x]) => [k, toYaml(x)]) };
    }
    case "struct":
      return {
        kind: "map",
        entries: v.v.filter((f) => !(f.yamlOmitEmpty && yamlZero(f))).map((f) => [f.yaml, toYaml(f.value)]),
      };
  }
}

function toJson(v: GoVal): unknown {
  switch (v.t) {
    case "str":
    case "int":
    case "bool":
      return v.v;
    case "nil":
      return null;
    case "slice":
      return v.v.map(toJson);
    case "map":
      return Object.fromEntries(
        [...v.v].sort(([a], [b]) => compareBytes(a, b)).map(([k, x]) => [k, toJson(x)]),
      );
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const f of v.v) {
        if (f.jsonOmitEmpty && jsonEmpty(f)) continue;
        if (f.embedded) Object.assign(out, toJson(f.value));
        else out[f.json] = toJson(f.value);
      }
      return out;
    }
  }
}

/**
 * The bytes of a `metadata: yaml|json` file, as LinuxKit v1.8.2 writes them. `refName` gives the name an
 * image reference of the config is written as (LinuxKit writes the resolved reference).
 */
export function renderMetadata(
  config: RawConfig,
  format: "yaml" | "json",
  refName: (ref: string) => string,
): string {
  const model = moby(config, refName);
  return format === "yaml" ? marshalYamlV2(toYaml(model)) : goMarshalIndent(toJson(model));
}
