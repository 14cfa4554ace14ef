// Debian packages without root and without maintainer scripts: apt's own solver, run against an empty dpkg
// status, picks the closure; apt-cache gives each package's SHA256; apt-get download fetches the .debs into
// a download cache shared by every build, verified and renamed into place.

import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KilnError } from "@kiln/spec";
import { writeFileAtomic } from "../cache/atomic.js";
import { fileSha256 } from "../cache/file-sha256.js";
import { withLock } from "../cache/lock.js";
import { run } from "./run.js";

export interface DebPackage {
  name: string;
  version: string;
  /** The package's architecture: the target's, or `all`. */
  arch: string;
  sha256: string;
  size: number;
}

export interface AptOptions {
  /** Where kiln keeps apt's package cache for the empty status (`$KILN_CACHE/apt`). */
  stateDir: string;
  /** Target architecture, in Debian's naming (which matches OCI's for amd64, arm64, s390x, ppc64el aside). */
  arch: string;
  signal?: AbortSignal;
}

const DEB_ARCH: Record<string, string> = { ppc64le: "ppc64el", arm: "armhf", "386": "i386" };

export function debianArch(ociArch: string): string {
  return DEB_ARCH[ociArch] ?? ociArch;
}

const INSTALL_APT =
  "build Debian-based images on Debian or Ubuntu, or drop the `debian:` and `kernel:` sections";

let hostDebArch: Promise<string> | undefined;
function hostArchitecture(): Promise<string> {
  hostDebArch ??= run("dpkg", ["--print-architecture"], { install: INSTALL_APT }).then(
    (r) => String(r.stdout).trim(),
    () => "",
  );
  return hostDebArch;
}

async function aptArgs(o: AptOptions): Promise<string[]> {
  await mkdir(o.stateDir, { recursive: true });
  const status = join(o.stateDir, "empty-status");
  // Written once: a new mtime would make apt rebuild its package cache.
  await writeFile(status, "", { flag: "a" });
  const args = [
    "-o",
    `Dir::State::status=${status}`,
    // A private package cache: apt rebuilds it when the status differs, and must not fight the host's over it.
    "-o",
    `Dir::Cache::pkgcache=${join(o.stateDir, "pkgcache.bin")}`,
    "-o",
    `Dir::Cache::srcpkgcache=${join(o.stateDir, "srcpkgcache.bin")}`,
    "-o",
    "Debug::NoLocking=1",
  ];
  const arch = debianArch(o.arch);
  const host = await hostArchitecture();
  if (host !== "" && arch !== host) {
    const foreign = await run("dpkg", ["--print-foreign-architectures"], { install: INSTALL_APT });
    if (!String(foreign.stdout).split(/\s+/).includes(arch)) {
      throw new AptResolveError(
        `apt on this ${host} host has no ${arch} package lists`,
        undefined,
        `run \`dpkg --add-architecture ${arch} && apt-get update\`, or build for ${host}`,
      );
    }
    args.push("-o", `APT::Architecture=${arch}`);
  }
  return args;
}

/** apt's error lines, without its noise. */
function aptErrors(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => /^E: /.test(l) || /^ \S.* : Depends:/.test(l));
  return (lines.length > 0 ? lines : stderr.split("\n").filter(Boolean).slice(-3)).join("; ");
}

/** A problem with one of the packages the recipe names, by index, or with the set as a whole. */
export class AptResolveError extends KilnError {
  constructor(
    message: string,
    readonly packageIndex: number | undefined,
    hint: string,
  ) {
    super(message, { hint });
    this.name = "AptResolveError";
  }
}

/** What apt's answers depend on: its configuration, the package lists, dpkg's architectures. */
export const APT_INPUTS = ["/etc/apt", "/var/lib/apt/lists", "/var/lib/dpkg/arch"];
/** Entries under the apt inputs that do not change its answers. */
export const APT_SKIP: ReadonlySet<string> = new Set(["partial", "lock", "auxfiles"]);
/** How deep the apt inputs are walked. */
export const APT_DEPTH = 3;

/** Size and mtime of every apt input, so a resolution can be reused until `apt-get update` or a config change. */
async function aptFingerprint(): Promise<string> {
  const lines: string[] = [`APT_CONFIG=${process.env.APT_CONFIG ?? ""}`];
  const visit = async (path: string, depth: number): Promise<void> => {
    let s: Awaited<ReturnType<typeof stat>>;
    try {
      s = await stat(path);
    } catch {
      lines.push(`${path} -`);
      return;
    }
    if (s.isDirectory()) {
      if (depth > APT_DEPTH) return;
      for (const name of (await readdir(path)).sort()) {
        if (APT_SKIP.has(name)) continue;
        await visit(`${path}/${name}`, depth + 1);
      }
    } else {
      lines.push(`${path} ${s.size} ${s.mtimeMs}`);
    }
  };
  for (const p of APT_INPUTS) await visit(p, 0);
  return lines.join("\n");
}

/**
 * The closure of `packages` (apt-get syntax: `name` or `name=version`) without recommends, as apt would
 * install it on an empty system. Local: reads only the host's package lists.
 */
export async function resolveClosure(packages: readonly string[], o: AptOptions): Promise<DebPackage[]> {
  // apt's solver takes about a second; an answer is reused until apt's inputs change.
  const key = createHash("sha256")
    .update(JSON.stringify([packages, o.arch, await aptFingerprint()]))
    .digest("hex");
  const memo = join(o.stateDir, "resolved", `${key}.json`);
  try {
    return JSON.parse(await readFile(memo, "utf8")) as DebPackage[];
  } catch {
    // not resolved yet with these inputs
  }
  const debs = await solve(packages, o);
  await mkdir(join(o.stateDir, "resolved"), { recursive: true });
  await writeFileAtomic(memo, JSON.stringify(debs));
  return debs;
}

async function solve(packages: readonly string[], o: AptOptions): Promise<DebPackage[]> {
  const args = [...(await aptArgs(o)), "-s", "-qq", "install", "--no-install-recommends", ...packages];
  const r = await withLock(o.stateDir, () =>
    run("apt-get", args, { signal: o.signal, install: INSTALL_APT }),
  );
  if (r.exitCode !== 0) {
    const stderr = String(r.stderr);
    const missing = /E: (?:Unable to locate package |Package '?)([^\s']+)/.exec(stderr)?.[1];
    const index = missing === undefined ? -1 : packages.findIndex((p) => p.split("=")[0] === missing);
    throw new AptResolveError(
      `apt cannot resolve ${packages.join(" ")}: ${aptErrors(stderr)}`,
      index === -1 ? undefined : index,
      "check the package names (apt-cache search NAME); run apt-get update if the lists are old",
    );
  }
  const seen = new Map<string, { name: string; version: string; arch: string }>();
  for (const line of String(r.stdout).split("\n")) {
    const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) .*\[([^\]]+)\]\)/.exec(line);
    if (!m) continue;
    const name = m[1]!.split(":")[0]!;
    seen.set(name, { name, version: m[2]!, arch: m[3]! });
  }
  return show([...seen.values()], o);
}

/** SHA256 and size of each exact package version, from the package lists. */
async function show(
  pkgs: ReadonlyArray<{ name: string; version: string; arch: string }>,
  o: AptOptions,
): Promise<DebPackage[]> {
  if (pkgs.length === 0) return [];
  const args = [...(await aptArgs(o)), "show", ...pkgs.map((p) => `${p.name}:${p.arch}=${p.version}`)];
  const r = await withLock(o.stateDir, () =>
    run("apt-cache", args, { signal: o.signal, install: INSTALL_APT }),
  );
  if (r.exitCode !== 0) {
    throw new KilnError(`apt-cache show failed: ${aptErrors(String(r.stderr))}`, {
      hint: "run apt-get update, then build again",
    });
  }
  const found = new Map<string, DebPackage>();
  for (const record of String(r.stdout).split(/\n\n+/)) {
    const field = (k: string) => new RegExp(`^${k}: (.*)$`, "m").exec(record)?.[1]?.trim();
    const name = field("Package");
    const version = field("Version");
    const arch = field("Architecture");
    const sha256 = field("SHA256");
    const size = Number(field("Size"));
    if (!name || !version || !arch || !sha256) continue;
    const key = `${name}:${arch}=${version}`;
    if (!found.has(key)) found.set(key, { name, version, arch, sha256, size });
  }
  return pkgs.map((p) => {
    const d = found.get(`${p.name}:${p.arch}=${p.version}`);
    if (!d) {
      throw new KilnError(`apt-cache has no SHA256 for ${p.name} ${p.version} (${p.arch})`, {
        hint: "run apt-get update, then build again",
      });
    }
    return d;
  });
}

/** apt's own file name for a package, with the epoch's colon escaped as apt does. */
export function debFileName(p: DebPackage): string {
  return `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.arch}.deb`;
}

export { fileSha256 };

/**
 * Make sure every package is in `dir` (`$KILN_CACHE/downloads/deb`), each checked against its SHA256.
 * Missing ones are fetched with one `apt-get download` into a private temp directory, then renamed in.
 * Returns the path of each .deb, in the order given.
 */
export async function downloadDebs(
  pkgs: readonly DebPackage[],
  dir: string,
  o: AptOptions & { log?: (line: string) => void },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths = pkgs.map((p) => join(dir, debFileName(p)));
  const missing: DebPackage[] = [];
  for (const [i, p] of pkgs.entries()) {
    const ok = await stat(paths[i]!).then(
      (s) => s.size === p.size,
      () => false,
    );
    if (!ok || (await fileSha256(paths[i]!)) !== p.sha256) missing.push(p);
  }
  if (missing.length === 0) return paths;
  const total = missing.reduce((n, p) => n + p.size, 0);
  o.log?.(
    `downloading ${missing.length} Debian package${missing.length === 1 ? "" : "s"} (${(total / 2 ** 20).toFixed(1)} MiB)`,
  );
  const tmp = await mkdtemp(join(dir, ".tmp-"));
  try {
    await chmod(tmp, 0o755);
    const args = [
      ...(await aptArgs(o)),
      "-qq",
      "download",
      ...missing.map((p) => `${p.name}:${p.arch}=${p.version}`),
    ];
    // As root, apt hands downloads to the _apt user, which cannot write to a private directory.
    if (process.getuid?.() === 0) args.unshift("-o", "APT::Sandbox::User=root");
    const r = await run("apt-get", args, { cwd: tmp, signal: o.signal, install: INSTALL_APT });
    if (r.exitCode !== 0) {
      throw new KilnError(`cannot download Debian packages: ${aptErrors(String(r.stderr))}`, {
        hint: "check that the apt sources are reachable; run apt-get update if the mirror dropped these versions",
      });
    }
    const got = new Set(await readdir(tmp));
    for (const p of missing) {
      const name = debFileName(p);
      const file = join(tmp, name);
      if (!got.has(name)) {
        throw new KilnError(`apt-get download did not produce ${name}`, {
          hint: "run apt-get update and try again",
        });
      }
      const actual = await fileSha256(file);
      if (actual !== p.sha256) {
        throw new KilnError(`${name}: SHA256 ${actual} does not match the package lists' ${p.sha256}`, {
          hint: "the mirror or a proxy served other bytes; nothing was kept. Run apt-get update and try again",
        });
      }
      await rename(file, join(dir, name));
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return paths;
}
