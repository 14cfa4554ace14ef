// Compares two TarViews, LinuxKit's and kiln's, part by part: the boot files, the root filesystem outside the
// bundles, and each container's config.json and runtime.json (byte for byte) and bundle tree.
import type { TarView, TreeEntry } from "./oracle-tar.js";

export interface Difference {
  /** `boot`, `init`, `tar` (the tar as a whole) or a bundle (`containers/services/minio`). */
  part: string;
  /** Relative to the part; "" for the part itself. */
  path: string;
  /** `present`, an entry field (`mode`, `uid`, `sha256`, `pax`...), `config.json`, `runtime.json`, `repeated`. */
  field: string;
  linuxkit: string;
  kiln: string;
}

const FIELDS = [
  "type",
  "mode",
  "uid",
  "gid",
  "uname",
  "gname",
  "mtime",
  "linkname",
  "size",
  "sha256",
  "devmajor",
  "devminor",
] as const;

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  if (typeof v === "number") return String(v);
  return typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);
}

export function showMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/** The trailing-slash form of a directory's name, the one header detail not in the normalised path. */
function nameForm(e: TreeEntry): string {
  return e.type === "directory" ? (e.rawName.endsWith("/") ? "dir/" : "dir") : "";
}

function compareEntries(part: string, path: string, a: TreeEntry, b: TreeEntry, out: Difference[]): void {
  for (const f of FIELDS) {
    if (a[f] !== b[f]) {
      const fmt = f === "mode" ? (v: unknown) => showMode(v as number) : show;
      out.push({ part, path, field: f, linuxkit: fmt(a[f]), kiln: fmt(b[f]) });
    }
  }
  const pa = JSON.stringify(sortKeys(a.pax));
  const pb = JSON.stringify(sortKeys(b.pax));
  if (pa !== pb) out.push({ part, path, field: "pax", linuxkit: pa, kiln: pb });
  if (nameForm(a) !== nameForm(b))
    out.push({ part, path, field: "name", linuxkit: a.rawName, kiln: b.rawName });
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

export function compareTrees(
  part: string,
  a: ReadonlyMap<string, TreeEntry>,
  b: ReadonlyMap<string, TreeEntry>,
  out: Difference[],
): void {
  for (const [path, ea] of a) {
    const eb = b.get(path);
    if (!eb) out.push({ part, path, field: "present", linuxkit: ea.type, kiln: "(absent)" });
    else compareEntries(part, path, ea, eb, out);
  }
  for (const [path, eb] of b) {
    if (!a.has(path)) out.push({ part, path, field: "present", linuxkit: "(absent)", kiln: eb.type });
  }
}

/** The first line where two texts differ, with the line on each side, for a readable report. */
export function firstDifference(a: string, b: string): { line: number; linuxkit: string; kiln: string } {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return { line: i + 1, linuxkit: la[i] ?? "(end)", kiln: lb[i] ?? "(end)" };
  }
  return { line: 0, linuxkit: "", kiln: "" };
}

function compareBytes(
  part: string,
  field: string,
  a: Buffer | undefined,
  b: Buffer | undefined,
  out: Difference[],
) {
  if (a === undefined && b === undefined) return;
  if (a !== undefined && b !== undefined && a.equals(b)) return;
  if (a === undefined || b === undefined) {
    out.push({
      part,
      path: field,
      field,
      linuxkit: a ? "present" : "(absent)",
      kiln: b ? "present" : "(absent)",
    });
    return;
  }
  const d = firstDifference(a.toString("utf8"), b.toString("utf8"));
  out.push({
    part,
    path: field,
    field,
    linuxkit: `line ${d.line}: ${d.linuxkit.trim()}`,
    kiln: `line ${d.line}: ${d.kiln.trim()}`,
  });
}

/**
 * Where the paths both tars have stop coming in the same order, by first appearance, or undefined when they
 * never do.
 */
function firstOutOfOrder(
  a: TarView,
  b: TarView,
): { path: string; linuxkit: string; kiln: string } | undefined {
  const inA = new Set(a.entries.map((e) => e.path));
  const inB = new Set(b.entries.map((e) => e.path));
  // Each path where it first appears: repeated copies are compared by the `repeated` check and the final state.
  const sa = [...new Set(a.entries.map((e) => e.path))].filter((p) => inB.has(p));
  const sb = [...new Set(b.entries.map((e) => e.path))].filter((p) => inA.has(p));
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    if (sa[i] !== sb[i]) {
      return {
        path: String(i),
        linuxkit: `${sa[i - 1] ?? "(start)"} then ${sa[i] ?? "(end)"}`,
        kiln: `${sb[i - 1] ?? "(start)"} then ${sb[i] ?? "(end)"}`,
      };
    }
  }
  return undefined;
}

/** Every difference between LinuxKit's tar (`linuxkit`) and kiln's (`kiln`). */
export function compareViews(linuxkit: TarView, kiln: TarView): Difference[] {
  const out: Difference[] = [];
  if (linuxkit.kernelSha256 !== kiln.kernelSha256) {
    out.push({
      part: "boot",
      path: "kernel",
      field: "sha256",
      linuxkit: show(linuxkit.kernelSha256),
      kiln: show(kiln.kernelSha256),
    });
  }
  if (linuxkit.cmdline !== kiln.cmdline) {
    out.push({
      part: "boot",
      path: "cmdline",
      field: "text",
      linuxkit: show(linuxkit.cmdline),
      kiln: show(kiln.cmdline),
    });
  }
  compareTrees("boot", linuxkit.boot, kiln.boot, out);
  compareTrees("init", linuxkit.init, kiln.init, out);
  const bundles = new Set([...linuxkit.containers.keys(), ...kiln.containers.keys()]);
  for (const bundle of [...bundles].sort()) {
    const a = linuxkit.containers.get(bundle);
    const b = kiln.containers.get(bundle);
    if (!a || !b) {
      out.push({
        part: bundle,
        path: "",
        field: "present",
        linuxkit: a ? "bundle" : "(absent)",
        kiln: b ? "bundle" : "(absent)",
      });
      continue;
    }
    compareBytes(bundle, "config.json", a.config, b.config, out);
    compareBytes(bundle, "runtime.json", a.runtime, b.runtime, out);
    compareTrees(bundle, a.tree, b.tree, out);
  }
  const order = firstOutOfOrder(linuxkit, kiln);
  if (order)
    out.push({ part: "tar", path: order.path, field: "order", linuxkit: order.linuxkit, kiln: order.kiln });
  const ra = linuxkit.repeated.join("\n");
  const rb = kiln.repeated.join("\n");
  if (ra !== rb)
    out.push({ part: "tar", path: "", field: "repeated", linuxkit: ra || "(none)", kiln: rb || "(none)" });
  return out;
}

/** Differences grouped by part and field, a few example paths each: a report a person can read. */
export function summarise(diffs: readonly Difference[], examples = 3): string {
  const groups = new Map<string, Difference[]>();
  for (const d of diffs) {
    const key = `${d.part} ${d.field}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  const lines: string[] = [];
  for (const [key, ds] of groups) {
    lines.push(`${key}: ${ds.length} difference${ds.length === 1 ? "" : "s"}`);
    for (const d of ds.slice(0, examples)) {
      lines.push(`  ${d.path || "."}: linuxkit ${d.linuxkit} | kiln ${d.kiln}`);
    }
  }
  return lines.join("\n");
}
