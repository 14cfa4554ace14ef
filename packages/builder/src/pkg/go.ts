// Go programs, built static and reproducibly: no cgo, -trimpath, no build id or VCS stamp, stripped. Go's own
// module and build caches are the download cache; the binary lands in the build's work directory.

import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { KilnError } from "@kiln/spec";
import type { GoBuild, Recipe } from "./recipe.js";
import { run, tail } from "./run.js";

const INSTALL_GO = "install Go (https://go.dev/dl/) and put `go` on PATH";

const GOARCH: Record<string, string> = { "386": "386", i386: "386" };

export function goArch(ociArch: string): string {
  return GOARCH[ociArch] ?? ociArch;
}

let version: Promise<string> | undefined;

/** `go env GOVERSION`, once per process: part of the tag of every recipe with a `go:` section. */
export function goVersion(signal?: AbortSignal): Promise<string> {
  version ??= run("go", ["env", "GOVERSION"], { install: INSTALL_GO, signal }).then((r) => {
    if (r.exitCode !== 0) throw new KilnError(`go env failed: ${tail(r.stderr)}`, { hint: INSTALL_GO });
    return String(r.stdout).trim();
  });
  return version;
}

function goEnv(arch: string, extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    CGO_ENABLED: "0",
    GOOS: "linux",
    GOARCH: goArch(arch),
    // The user's GOFLAGS could change the bytes; the flags that matter are given explicitly below.
    GOFLAGS: "",
    // A go.work above the module, or a toolchain switch, would build something other than what was hashed.
    GOWORK: "off",
    GOTOOLCHAIN: "local",
    ...extra,
  };
}

const FLAGS = ["-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="];

/** A local package argument as `go build` wants it: relative to the module, with a leading "./". */
function localPackage(pkg: string): string {
  if (pkg === "" || pkg === ".") return ".";
  return pkg.startsWith("./") || pkg.startsWith("../") ? pkg : `./${pkg}`;
}

/** Build one `go:` entry; returns the binary's path inside `work`. */
export async function buildGo(
  recipe: Recipe,
  g: GoBuild,
  work: string,
  o: { arch: string; signal?: AbortSignal; log?: (line: string) => void },
): Promise<string> {
  await mkdir(work, { recursive: true });
  if (g.kind === "local") {
    const out = join(work, "out");
    o.log?.(`go build ${localPackage(g.package)} (in ${g.dir})`);
    const r = await run("go", ["build", ...FLAGS, "-o", out, localPackage(g.package)], {
      cwd: g.dir,
      env: goEnv(o.arch),
      signal: o.signal,
      install: INSTALL_GO,
    });
    if (r.exitCode !== 0)
      throw recipe.fail(g.at, `go build failed:\n${tail(r.stderr, 20)}`, "fix the Go program");
    return out;
  }
  const target = `${g.module}${g.package ? `/${g.package.replace(/^\.?\/+/, "")}` : ""}@${g.version}`;
  o.log?.(`go install ${target}`);
  // GOBIN cannot be set for cross builds, so the binary goes to GOPATH/bin[/GOOS_GOARCH] of a private GOPATH,
  // while the module cache stays the user's.
  const gopath = join(work, "gopath");
  const modcache = await run("go", ["env", "GOMODCACHE"], { install: INSTALL_GO, signal: o.signal });
  const r = await run("go", ["install", ...FLAGS, target], {
    cwd: work,
    env: goEnv(o.arch, { GOPATH: gopath, GOMODCACHE: String(modcache.stdout).trim(), GOBIN: "" }),
    signal: o.signal,
    install: INSTALL_GO,
  });
  if (r.exitCode !== 0) {
    throw recipe.fail(
      g.at,
      `go install ${target} failed:\n${tail(r.stderr, 20)}`,
      "check the module path and version",
    );
  }
  for (const dir of [join(gopath, "bin"), join(gopath, "bin", `linux_${goArch(o.arch)}`)]) {
    const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const file = names.find((d) => d.isFile());
    if (file) return join(dir, file.name);
  }
  throw recipe.fail(g.at, `go install ${target} made no binary`, "is the package a `main` package?");
}
