// The compatibility oracle: build one YAML with LinuxKit and with kiln, read both outputs and list every
// difference, each either known (docs/compatibility.md says why) or not.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { OracleCase } from "./oracle-corpus.js";
import { readInitrd } from "./oracle-cpio.js";
import { compareTrees, compareViews, type Difference, summarise } from "./oracle-diff.js";
import { type Triage, triage } from "./oracle-known.js";
import { buildWithKiln, buildWithLinuxkit, type RunResult, run } from "./oracle-peers.js";
import { readTarView, type TarView, type TreeEntry } from "./oracle-tar.js";

export interface OracleOptions {
  /** The LinuxKit binary. */
  linuxkit: string;
  /** The loopback registry the case's images are in. */
  registry: string;
  /** Where both tools build: DIR/linuxkit and DIR/kiln. */
  dir: string;
  linuxkitCache: string;
  kilnCache: string;
}

export interface OracleResult {
  case: string;
  differences: Difference[];
  triage: Triage;
  /** Build wall times. */
  linuxkitMs: number;
  kilnMs: number;
}

/** Build `c` as `-f tar` with both tools and compare the tars part by part. */
export async function compareTar(c: OracleCase, o: OracleOptions): Promise<OracleResult> {
  const lkDir = join(o.dir, "linuxkit");
  const kilnDir = join(o.dir, "kiln");
  const common = { case: c, formats: ["tar"], registry: o.registry } as const;
  const lk = await buildWithLinuxkit(o.linuxkit, { ...common, dir: lkDir, cache: o.linuxkitCache });
  const kiln = await buildWithKiln({ ...common, dir: kilnDir, cache: o.kilnCache });
  const views = {
    linuxkit: await readTarView(join(lkDir, "out.tar")),
    kiln: await readTarView(join(kilnDir, "out.tar")),
  };
  const differences = compareViews(views.linuxkit, views.kiln);
  return {
    case: c.name,
    differences,
    triage: triage(differences, views),
    linuxkitMs: lk.ms,
    kilnMs: kiln.ms,
  };
}

export interface BootFilesResult extends OracleResult {
  /** The outputs' paths (`PREFIX-kernel`, `PREFIX-initrd.img`, `PREFIX-cmdline` exist for each). */
  prefixes: { linuxkit: string; kiln: string };
  initrdBytes: { linuxkit: number; kiln: number };
}

/**
 * Build `c` as kernel+initrd with both tools and compare the kernel and cmdline bytes and the initrd's files
 * (the last copy of each path, as the kernel unpacks it).
 */
export async function compareKernelInitrd(c: OracleCase, o: OracleOptions): Promise<BootFilesResult> {
  const lkDir = join(o.dir, "linuxkit");
  const kilnDir = join(o.dir, "kiln");
  const common = { case: c, formats: ["kernel+initrd"], registry: o.registry } as const;
  const lk = await buildWithLinuxkit(o.linuxkit, { ...common, dir: lkDir, cache: o.linuxkitCache });
  const kiln = await buildWithKiln({ ...common, dir: kilnDir, cache: o.kilnCache });
  const prefixes = { linuxkit: join(lkDir, "out"), kiln: join(kilnDir, "out") };
  const differences: Difference[] = [];
  for (const suffix of ["-kernel", "-cmdline"]) {
    const [a, b] = await Promise.all([
      readFile(prefixes.linuxkit + suffix),
      readFile(prefixes.kiln + suffix),
    ]);
    if (!a.equals(b)) {
      differences.push({
        part: "boot",
        path: suffix.slice(1),
        field: "bytes",
        linuxkit: `${a.length} bytes`,
        kiln: `${b.length} bytes`,
      });
    }
  }
  const initrds = { linuxkit: `${prefixes.linuxkit}-initrd.img`, kiln: `${prefixes.kiln}-initrd.img` };
  const initrdBytes = {
    linuxkit: (await stat(initrds.linuxkit)).size,
    kiln: (await stat(initrds.kiln)).size,
  };
  return { ...(await initrdOutcome(c, initrds, { lk, kiln }, differences)), prefixes, initrdBytes };
}

/**
 * Add the differences between the files of two initrds (the last copy of each path, as the kernel unpacks
 * it) to `differences`, and triage them all.
 */
async function initrdOutcome(
  c: OracleCase,
  initrds: { linuxkit: string; kiln: string },
  runs: { lk: RunResult; kiln: RunResult },
  differences: Difference[],
): Promise<OracleResult> {
  const [ia, ib] = await Promise.all([readInitrd(initrds.linuxkit), readInitrd(initrds.kiln)]);
  compareTrees("initrd", ia.tree, ib.tree, differences);
  const views = { linuxkit: treeView(ia.tree), kiln: treeView(ib.tree) };
  return {
    case: c.name,
    differences,
    triage: triage(
      differences.map((d) => (d.part === "initrd" ? { ...d, part: "init" } : d)),
      views,
    ),
    linuxkitMs: runs.lk.ms,
    kilnMs: runs.kiln.ms,
  };
}

/**
 * Build `c` as tar-kernel-initrd with both tools: the members (names, order, modes, owners, times) and the
 * kernel, cmdline and microcode bytes must agree, and the initrd.img members hold the same files.
 */
export async function compareTarKernelInitrd(c: OracleCase, o: OracleOptions): Promise<OracleResult> {
  const lkDir = join(o.dir, "linuxkit");
  const kilnDir = join(o.dir, "kiln");
  const common = { case: c, formats: ["tar-kernel-initrd"], registry: o.registry } as const;
  const lk = await buildWithLinuxkit(o.linuxkit, { ...common, dir: lkDir, cache: o.linuxkitCache });
  const kiln = await buildWithKiln({ ...common, dir: kilnDir, cache: o.kilnCache });
  const [a, b] = await Promise.all([
    readTarView(join(lkDir, "out-initrd.tar")),
    readTarView(join(kilnDir, "out-initrd.tar")),
  ]);
  const differences: Difference[] = [];
  const order = (v: typeof a) => v.entries.map((e) => e.path).join(",");
  if (order(a) !== order(b)) {
    differences.push({ part: "members", path: "", field: "order", linuxkit: order(a), kiln: order(b) });
  }
  const members = (v: typeof a) => new Map([...v.init].filter(([p]) => p !== "initrd.img"));
  compareTrees("members", members(a), members(b), differences);
  for (const dir of [lkDir, kilnDir]) {
    const r = await run("tar", ["-xf", join(dir, "out-initrd.tar"), "-C", dir, "initrd.img"]);
    if (r.code !== 0) throw new Error(`tar -xf ${join(dir, "out-initrd.tar")} initrd.img: ${r.stderr}`);
  }
  const initrds = { linuxkit: join(lkDir, "initrd.img"), kiln: join(kilnDir, "initrd.img") };
  return initrdOutcome(c, initrds, { lk, kiln }, differences);
}

/** A TarView over an initrd's tree, for the known differences that look into the surroundings of a path. */
function treeView(tree: Map<string, TreeEntry>): TarView {
  return { entries: [...tree.values()], repeated: [], boot: new Map(), init: tree, containers: new Map() };
}

/** What the oracle reports for a case: the unexplained differences first, then the explained ones counted. */
export function describe(r: OracleResult): string {
  const explained = [...r.triage.explained].map(([id, ds]) => `${id} ×${ds.length}`).join(", ") || "none";
  const head = `${r.case}: ${r.differences.length} differences; known: ${explained}`;
  if (r.triage.unexplained.length === 0) return head;
  return `${head}\nNOT EXPLAINED (fix kiln, or add it to oracle-known.ts and docs/compatibility.md):\n${summarise(r.triage.unexplained, 5)}`;
}

/** What an appliance said on its console, in an order that does not depend on timing. */
export interface BootTranscript {
  /** kiln-init's messages, in order. */
  init: string[];
  /** Each container's output lines, in order, by container name (`000-hello`, `minio`). */
  containers: Record<string, string[]>;
}

/**
 * The console lines that say what an appliance did: kiln-init's messages and the output of onboot containers
 * and of the named services, timings blanked. Init's messages and each container's output are kept apart,
 * because a container's first line may come before or after init says it started.
 */
export function bootTranscript(console: string, services: readonly string[] = []): BootTranscript {
  const names = services.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const container = new RegExp(`^\\[(\\d{3}-[^\\]]+${names.map((n) => `|${n}`).join("")})\\] (.*)$`);
  const out: BootTranscript = { init: [], containers: {} };
  const blank = (line: string) => line.replace(/\d+(\.\d+)? ?(ms|s)\b/g, "N $2").trimEnd();
  for (const raw of console.split(/\r?\n/)) {
    const line = raw.replace(/^\[\s*\d+\.\d+\]\s*/, "");
    const init = /kiln-init: .*$/.exec(line);
    if (init) {
      out.init.push(blank(init[0]));
      continue;
    }
    const m = container.exec(line);
    if (m) out.containers[m[1]!] = [...(out.containers[m[1]!] ?? []), blank(m[2]!)];
  }
  return out;
}
