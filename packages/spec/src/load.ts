import { dirname, resolve } from "node:path";
import { isMap, visit } from "yaml";
import type { z } from "zod";
import { isCapability, isCapabilityKeyword, suggestCapability } from "./capabilities.js";
import { didYouMean, SpecError, type SpecIssue, type SpecWarning } from "./errors.js";
import { normalizeMount, parseBind, parseMode, parseRlimit, parseTmpfs } from "./fields.js";
import { formatImageRef, ImageRefError, parseImageRef } from "./image-ref.js";
import { configSchema, type FileEntry, type ImageEntry, type RawConfig, type VolumeEntry } from "./schema.js";
import { knownKeysAt, valueAt, withoutUnknownKeys } from "./schema-walk.js";
import { LocatedDocument, type SourceFile } from "./source.js";

export type Path = ReadonlyArray<string | number>;

/** Where an entry of the merged config came from, so later checks can point at the user's line. */
export interface Origin {
  file: string;
  path: Path;
  line: number;
  col: number;
}

export interface LoadedConfig {
  /** The merged config, image references expanded, in LinuxKit's append order. */
  config: RawConfig;
  warnings: SpecWarning[];
  /** Formats named by the deprecated 2017 `outputs:` key, in order, de-duplicated. */
  legacyFormats: string[];
  /** Origins of list entries in the merged config, keyed by section name. */
  origins: {
    kernel?: Origin;
    init: Origin[];
    onboot: Origin[];
    onshutdown: Origin[];
    services: Origin[];
    files: Origin[];
    volumes: Origin[];
  };
}

const LIST_SECTIONS = ["init", "onboot", "onshutdown", "services", "files", "volumes"] as const;
const VOLUME_NAME = /^[a-z0-9_-]*$/;

class IssueSink {
  readonly issues: SpecIssue[] = [];
  readonly warnings: SpecWarning[] = [];
  error(doc: LocatedDocument, path: Path, message: string, hint?: string, key = false): void {
    const pos = doc.locate(path, key);
    const issue: SpecIssue = { file: doc.file, ...pos, path, message };
    if (hint) issue.hint = hint;
    this.issues.push(issue);
  }
  warn(doc: LocatedDocument, path: Path, message: string): void {
    this.warnings.push({ file: doc.file, ...doc.locate(path, true), path, message });
  }
}

interface Parsed {
  doc: LocatedDocument;
  data?: RawConfig;
  /** Set when `data` holds only the well-formed parts of an invalid document. */
  partial?: boolean;
}

function parseOne(src: SourceFile, sink: IssueSink): Parsed {
  const doc = new LocatedDocument(src.name, src.text);
  if (doc.doc.errors.length > 0) {
    for (const e of doc.doc.errors) {
      const pos = doc.position(e.pos[0]);
      const message = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      sink.issues.push({ file: doc.file, ...pos, path: [], message, hint: "fix the YAML syntax" });
    }
    return { doc };
  }
  let js: unknown;
  try {
    js = doc.doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    // Aliases are resolved only here: an undefined anchor or an alias bomb.
    const message = e instanceof Error ? e.message : String(e);
    sink.issues.push({
      file: doc.file,
      ...firstAliasPosition(doc),
      path: [],
      message,
      hint: "fix the YAML anchors and aliases",
    });
    return { doc };
  }
  if (!isPlainObject(js) || (doc.doc.contents !== null && !isMap(doc.doc.contents))) {
    sink.error(doc, [], "the document must be a mapping with keys such as kernel, init, onboot, services");
    return { doc };
  }
  const result = configSchema.safeParse(js);
  const before = sink.issues.length;
  if (!result.success) {
    for (const issue of result.error.issues) reportZodIssue(doc, js, issue, sink);
    // Keep checking what is well-formed once unknown keys are set aside, so one pass reports every problem.
    const partial = wellFormedParts(withoutUnknownKeys(js, result.error.issues));
    checkSemantics(doc, partial, sink);
    return { doc, data: partial, partial: true };
  }
  const data = result.data;
  checkSemantics(doc, data, sink);
  if (data.trust !== undefined) {
    sink.warn(
      doc,
      ["trust"],
      "`trust` is ignored: LinuxKit removed content trust in 2021; pin images by digest",
    );
  }
  if (data.outputs !== undefined) {
    const formats = data.outputs.map((o) => o.format);
    sink.warn(
      doc,
      ["outputs"],
      `\`outputs\` is deprecated (2017 moby format); use \`kiln build --format ${[...new Set(formats)].join(",")}\``,
    );
  }
  return sink.issues.length === before ? { doc, data } : { doc, data, partial: true };
}

/** The sections and list entries of a document that pass the schema on their own. */
function wellFormedParts(js: Record<string, unknown>): RawConfig {
  const out: Record<string, unknown> = {};
  const shape = configSchema.shape;
  for (const [key, value] of Object.entries(js)) {
    const schema = shape[key as keyof typeof shape];
    if (!schema) continue;
    const element = (schema.unwrap() as unknown as { element?: z.ZodType }).element;
    if (Array.isArray(value) && element) {
      // Dropped entries become holes, so indices in later messages still match the file.
      const kept: unknown[] = new Array(value.length);
      value.forEach((item, i) => {
        const r = element.safeParse(item);
        if (r.success) kept[i] = r.data;
      });
      out[key] = kept;
    } else {
      const r = schema.safeParse(value);
      if (r.success) out[key] = r.data;
    }
  }
  return out as RawConfig;
}

function reportZodIssue(doc: LocatedDocument, js: unknown, issue: z.core.$ZodIssue, sink: IssueSink): void {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(configSchema, path);
    for (const key of issue.keys) {
      const hint = didYouMean(key, known) ?? (known.length ? `allowed here: ${known.join(", ")}` : undefined);
      sink.error(doc, [...path, key], "unknown field", hint, true);
    }
    return;
  }
  if (issue.code === "invalid_type" && valueAt(js, path) === undefined) {
    sink.error(doc, path, `missing required field (expected ${issue.expected})`, undefined, true);
    return;
  }
  if (issue.code === "invalid_union") {
    sink.error(doc, path, "expected a number or the name of a container in this YAML");
    return;
  }
  const hint =
    path[path.length - 1] === "mode" && typeof valueAt(js, path) === "number"
      ? 'quote octal modes, e.g. mode: "0644"'
      : undefined;
  sink.error(doc, path, issue.message.replace(/^Invalid input: /, ""), hint);
}

function checkSemantics(doc: LocatedDocument, data: RawConfig, sink: IssueSink): void {
  const ref = (path: Path, value: string | undefined) => {
    if (value === undefined) return;
    try {
      const parsed = parseImageRef(value);
      if (parsed.kind !== "registry" && doc.file === "-") {
        sink.error(
          doc,
          path,
          `\`${parsed.kind}\` references are relative to the YAML file, so they cannot be read from stdin`,
          "pass the YAML as a file",
        );
      }
    } catch (e) {
      if (!(e instanceof ImageRefError)) throw e;
      sink.error(
        doc,
        path,
        e.reason,
        "write it like `docker.io/library/alpine:3.20` or `oci-layout:./dir:tag`",
      );
    }
  };
  ref(["kernel", "image"], data.kernel?.image);
  data.init?.forEach((img, i) => {
    ref(["init", i], img);
  });
  for (const section of ["onboot", "onshutdown", "services"] as const) {
    data[section]?.forEach((entry, i) => {
      ref([section, i, "image"], entry.image);
      checkImageFields(doc, [section, i], entry, sink);
    });
  }
  data.files?.forEach((f, i) => {
    checkFile(doc, ["files", i], f, sink);
  });
  data.volumes?.forEach((v, i) => {
    ref(["volumes", i, "image"], v.image);
    if (!VOLUME_NAME.test(v.name)) {
      sink.error(
        doc,
        ["volumes", i, "name"],
        `"${v.name}" is not a valid volume name`,
        "use a-z, 0-9, _ and -",
      );
    }
    if (v.format === "oci" && v.image === undefined) {
      sink.error(doc, ["volumes", i, "format"], "format `oci` needs an `image`");
    }
  });
}

/** Checks shared by YAML containers and image labels. `base` is the entry's path. */
export function checkImageFields(
  doc: LocatedDocument,
  base: Path,
  entry: Partial<ImageEntry>,
  sink: { error: IssueSink["error"] },
): void {
  for (const field of ["capabilities", "capabilities.add", "ambient"] as const) {
    const list = entry[field];
    list?.forEach((cap, i) => {
      if (isCapabilityKeyword(cap)) {
        // LinuxKit treats all/none as keywords only when alone; elsewhere they are unknown names.
        if (list.length > 1 || field === "capabilities.add") {
          const target = field === "capabilities.add" ? "capabilities" : field;
          sink.error(
            doc,
            [...base, field, i],
            `\`${cap}\` must be the only entry of \`${target}\``,
            "use [all] or [none] alone",
          );
        }
        return;
      }
      if (isCapability(cap)) return;
      const near = suggestCapability(cap);
      const hint = near ? `did you mean \`${near}\`?` : "use a name like CAP_NET_ADMIN, or all/none";
      sink.error(doc, [...base, field, i], `unknown capability "${cap}"`, hint);
    });
  }
  for (const field of ["binds", "binds.add"] as const) {
    entry[field]?.forEach((b, i) => {
      const err = parseBind(b).error;
      if (err) sink.error(doc, [...base, field, i], err, "write binds as `/src:/dst[:opt,opt]`");
    });
  }
  entry.tmpfs?.forEach((t, i) => {
    const err = parseTmpfs(t).error;
    if (err) sink.error(doc, [...base, "tmpfs", i], err, "write tmpfs mounts as `/dst[:opt,opt]`");
  });
  entry.rlimits?.forEach((r, i) => {
    const err = parseRlimit(r).error;
    if (err) sink.error(doc, [...base, "rlimits", i], err, "write rlimits as `nofile,1024,4096`");
  });
  entry.devices?.forEach((d, i) => {
    if (d.path === "all") return;
    if (d.major === undefined || d.minor === undefined) {
      sink.error(doc, [...base, "devices", i], "a device needs `major` and `minor` unless its path is `all`");
    }
    if (d.mode === undefined)
      sink.error(doc, [...base, "devices", i], "a device needs a `mode`", 'e.g. mode: "0666"');
    else if (parseMode(d.mode) === undefined) {
      sink.error(doc, [...base, "devices", i, "mode"], `"${d.mode}" is not an octal mode`, 'e.g. "0666"');
    }
  });
  entry.mounts?.forEach((m, i) => {
    const err = normalizeMount(m).error;
    if (err)
      sink.error(
        doc,
        [...base, "mounts", i],
        err,
        "give the mount a `type`, and a `destination` unless the type implies one",
      );
  });
  for (const ns of ["net", "pid", "ipc", "uts", "userns"] as const) {
    const v = entry[ns];
    if (v !== undefined && !["host", "root", "new", "none", ""].includes(v) && !v.startsWith("/")) {
      sink.error(
        doc,
        [...base, ns],
        `"${v}" is not a namespace setting`,
        "use host, new, or a path such as /proc/1/ns/net",
      );
    }
  }
  const prop = entry.rootfsPropagation;
  if (
    prop !== undefined &&
    !["", "shared", "slave", "private", "rshared", "rslave", "rprivate"].includes(prop)
  ) {
    sink.error(
      doc,
      [...base, "rootfsPropagation"],
      `"${prop}" is not a propagation mode`,
      "use shared, slave or private",
    );
  }
}

function checkFile(doc: LocatedDocument, base: Path, f: FileEntry, sink: IssueSink): void {
  const sources = (["contents", "source", "metadata", "symlink"] as const).filter((k) => f[k] !== undefined);
  if (f.directory) {
    if (sources.length > 0) {
      sink.error(
        doc,
        [...base, sources[0]!],
        "a directory cannot also have contents, source, metadata or symlink",
      );
    }
  } else if (sources.length > 1) {
    sink.error(doc, [...base, sources[1]!], `only one of ${sources.join(", ")} may be given`);
  } else if (sources.length === 0) {
    sink.error(doc, base, "a file needs one of contents, source, metadata, symlink or directory: true");
  }
  if (f.optional && f.source === undefined) {
    sink.error(doc, [...base, "optional"], "`optional` only applies to entries with a `source`");
  }
  if (f.mode !== undefined && parseMode(f.mode) === undefined) {
    sink.error(doc, [...base, "mode"], `"${f.mode}" is not an octal mode`, 'quote it, e.g. mode: "0644"');
  }
}

function firstAliasPosition(doc: LocatedDocument): { line: number; col: number } {
  let offset = 0;
  visit(doc.doc, {
    Alias(_, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return doc.position(offset);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function originOf(doc: LocatedDocument, path: Path): Origin {
  return { file: doc.file, path, ...doc.locate(path) };
}

/**
 * Parse, validate and merge LinuxKit YAML documents. Later files override kernel fields;
 * list sections are appended. Every problem in every file is reported at once, as a SpecError.
 */
export function loadConfig(sources: readonly SourceFile[]): LoadedConfig {
  if (sources.length === 0) throw new Error("loadConfig needs at least one source");
  const sink = new IssueSink();
  const parsed = sources.map((s) => parseOne(s, sink));
  const merged: RawConfig = {};
  const origins: LoadedConfig["origins"] = {
    init: [],
    onboot: [],
    onshutdown: [],
    services: [],
    files: [],
    volumes: [],
  };
  const legacyFormats: string[] = [];
  for (const { doc, data } of parsed) {
    if (!data) continue;
    if (data.kernel) {
      // Field by field, like LinuxKit's AppendConfig: a later file overrides only what it sets.
      const k = { ...merged.kernel, ...definedOnly(data.kernel) } as NonNullable<RawConfig["kernel"]>;
      k.image = safeNormalize(k.image, doc.file);
      merged.kernel = k;
      origins.kernel = originOf(doc, ["kernel"]);
    }
    for (const section of LIST_SECTIONS) {
      const items = data[section];
      if (!items) continue;
      merged[section] ??= [];
      const target = merged[section] as unknown[];
      items.forEach((item, i) => {
        target.push(normaliseRefs(section, item, doc.file));
        origins[section].push(originOf(doc, [section, i]));
      });
    }
    if (data.trust) merged.trust = data.trust;
    for (const o of data.outputs ?? []) if (!legacyFormats.includes(o.format)) legacyFormats.push(o.format);
  }
  checkMerged(merged, origins, parsed, sink);
  if (sink.issues.length > 0) {
    const fileOrder = new Map(sources.map((s, i) => [s.name, i]));
    const sorted = [...sink.issues].sort(
      (a, b) =>
        (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0) || a.line - b.line || a.col - b.col,
    );
    throw new SpecError(sorted);
  }
  return { config: merged, warnings: sink.warnings, legacyFormats, origins };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Invalid references were reported already; keep them as written so the other checks can go on. */
function safeNormalize(ref: string, file: string): string {
  try {
    const parsed = parseImageRef(ref);
    if (parsed.kind !== "registry" && file !== "-") parsed.path = resolve(dirname(file), parsed.path);
    return formatImageRef(parsed);
  } catch {
    return ref;
  }
}

function normaliseRefs(section: (typeof LIST_SECTIONS)[number], item: unknown, file: string): unknown {
  if (section === "init") return safeNormalize(item as string, file);
  if (section === "files") return item;
  if (section === "volumes") {
    const v = item as VolumeEntry;
    return v.image === undefined ? v : { ...v, image: safeNormalize(v.image, file) };
  }
  const e = item as ImageEntry;
  return { ...e, image: safeNormalize(e.image, file) };
}

/** Checks that span files: unique names and references between entries. */
function checkMerged(
  config: RawConfig,
  origins: LoadedConfig["origins"],
  parsed: Array<{ doc: LocatedDocument }>,
  sink: IssueSink,
): void {
  const docs = new Map(parsed.map((p) => [p.doc.file, p.doc]));
  const at = (o: Origin, sub: Path, message: string, hint?: string) =>
    sink.error(docs.get(o.file)!, [...o.path, ...sub], message, hint);

  const seen = new Map<string, Origin>();
  config.services?.forEach((s, i) => {
    const o = origins.services[i]!;
    const first = seen.get(s.name);
    if (first)
      at(o, ["name"], `duplicate service name "${s.name}"`, `first defined at ${first.file}:${first.line}`);
    else seen.set(s.name, o);
  });
  const volumes = new Map<string, VolumeEntry>();
  config.volumes?.forEach((v, i) => {
    if (volumes.has(v.name)) at(origins.volumes[i]!, ["name"], `duplicate volume name "${v.name}"`);
    volumes.set(v.name, v);
  });

  const names = new Set<string>();
  for (const section of ["onboot", "onshutdown", "services"] as const) {
    for (const e of config[section] ?? []) names.add(e.name);
  }
  const checkId = (o: Origin, sub: Path, v: number | string | undefined) => {
    if (typeof v !== "string" || v === "" || v === "root" || names.has(v)) return;
    at(o, sub, `"${v}" is not the name of a container in this config`, didYouMean(v, names));
  };
  for (const section of ["onboot", "onshutdown", "services"] as const) {
    config[section]?.forEach((e, i) => {
      const o = origins[section][i]!;
      checkId(o, ["uid"], e.uid);
      checkId(o, ["gid"], e.gid);
      e.additionalGids?.forEach((g, j) => {
        checkId(o, ["additionalGids", j], g);
      });
      for (const field of ["binds", "binds.add"] as const) {
        e[field]?.forEach((b, j) => {
          const bind = parseBind(b);
          if (bind.error || bind.source.startsWith("/")) return;
          const vol = volumes.get(bind.source);
          if (!vol)
            at(
              o,
              [field, j],
              `no volume named "${bind.source}"`,
              didYouMean(bind.source, volumes.keys()) ??
                "declare it under `volumes:` or use an absolute path",
            );
          else if (vol.readonly && !bind.options.includes("ro"))
            at(o, [field, j], `volume "${vol.name}" is readonly, so this bind needs the \`ro\` option`);
        });
      }
    });
  }
  config.files?.forEach((f, i) => {
    checkId(origins.files[i]!, ["uid"], f.uid);
    checkId(origins.files[i]!, ["gid"], f.gid);
  });
}
