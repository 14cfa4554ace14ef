// The differences between LinuxKit's `-f tar` and kiln's that are known: made on purpose (`deliberate`), or
// found by the oracle and not fixed yet (`open`). Each names the text of its row in docs/compatibility.md; the
// oracle test checks that the row is there, that every difference it finds is one of these, and that each of
// these still happens somewhere in the corpus, so none outlives its cause.
import type { Difference } from "./oracle-diff.js";
import { OPAQUE_HIDDEN } from "./oracle-fixtures.js";
import { partTree, type TarView } from "./oracle-tar.js";

export interface Views {
  linuxkit: TarView;
  kiln: TarView;
}

export interface KnownDifference {
  id: string;
  kind: "deliberate" | "open";
  /** Text that appears in docs/compatibility.md, in the row that explains it. */
  doc: string;
  explains(d: Difference, views: Views): boolean;
}

/** Whether LinuxKit's tar has entries below `path` in `part`. */
function hasChildren(views: Views, part: string, path: string): boolean {
  const tree = partTree(views.linuxkit, part);
  if (!tree) return false;
  for (const p of tree.keys()) if (p.startsWith(`${path}/`)) return true;
  return false;
}

/** Whether `path` is a directory in `view`'s tar with entries below it. */
function isParentDirectory(view: TarView, path: string): boolean {
  const own = view.entries.filter((e) => e.path === path);
  return (
    own.length > 0 &&
    own.every((e) => e.type === "directory") &&
    view.entries.some((e) => e.path.startsWith(`${path}/`))
  );
}

function lines(s: string): string[] {
  return s === "(none)" ? [] : s.split("\n");
}

/** Where `path` first appears in `view`'s tar, or -1. */
function firstIndex(view: TarView, path: string): number {
  return view.entries.findIndex((e) => e.path === path);
}

/**
 * Whether the order difference `d` is LinuxKit writing a path before one of its parent directories (or without
 * it) where kiln writes that parent first.
 */
function parentAfterChild(d: Difference, views: Views): boolean {
  const path = d.linuxkit.split(" then ")[1];
  if (d.field !== "order" || path === undefined) return false;
  const lk = firstIndex(views.linuxkit, path);
  const kiln = firstIndex(views.kiln, path);
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const parent = path.slice(0, i);
    const lkParent = firstIndex(views.linuxkit, parent);
    const kilnParent = firstIndex(views.kiln, parent);
    if ((lkParent === -1 || lkParent > lk) && kilnParent !== -1 && kilnParent < kiln) return true;
  }
  return false;
}

export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [
  {
    id: "directory-slash",
    kind: "deliberate",
    doc: "directory names end in `/`",
    explains: (d) => d.field === "name" && d.linuxkit.replace(/\/$/, "") === d.kiln.replace(/\/$/, ""),
  },
  {
    id: "no-empty-sbom",
    kind: "deliberate",
    doc: "no `sbom.spdx.json`",
    explains: (d) =>
      d.part === "init" && d.path === "sbom.spdx.json" && d.field === "present" && d.kiln === "(absent)",
  },
  {
    id: "implicit-parents",
    kind: "deliberate",
    doc: "parent directories a layer leaves out",
    explains: (d, views) => {
      if (d.field === "present") {
        return d.linuxkit === "(absent)" && d.kiln === "directory" && hasChildren(views, d.part, d.path);
      }
      if (d.field === "repeated") {
        // kiln repeats the directories it made; everything LinuxKit repeats, kiln repeats too.
        const lk = new Set(lines(d.linuxkit));
        const kiln = lines(d.kiln);
        return (
          [...lk].every((p) => kiln.includes(p)) &&
          kiln.filter((p) => !lk.has(p)).every((p) => isParentDirectory(views.kiln, p))
        );
      }
      return false;
    },
  },
  {
    id: "parents-first",
    kind: "deliberate",
    doc: "before what is in it",
    explains: parentAfterChild,
  },
  {
    id: "opaque-whiteout",
    kind: "deliberate",
    doc: "opaque whiteouts",
    explains: (d) =>
      d.field === "present" &&
      d.kiln === "(absent)" &&
      (d.path === OPAQUE_HIDDEN || d.path.endsWith(`/${OPAQUE_HIDDEN}`)),
  },
];

export interface Triage {
  explained: Map<string, Difference[]>;
  unexplained: Difference[];
}

export function triage(diffs: readonly Difference[], views: Views, known = KNOWN_DIFFERENCES): Triage {
  const explained = new Map<string, Difference[]>();
  const unexplained: Difference[] = [];
  for (const d of diffs) {
    const k = known.find((x) => x.explains(d, views));
    if (!k) unexplained.push(d);
    else explained.set(k.id, [...(explained.get(k.id) ?? []), d]);
  }
  return { explained, unexplained };
}
