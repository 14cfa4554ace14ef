import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { KilnError as FromIndex, SpecError as SpecFromIndex } from "@kiln/spec";
import { KilnError, SpecError } from "@kiln/spec/errors";
import { describe, expect, test } from "vitest";
import { REPO_ROOT } from "./test-helpers.js";

// Start-up time is module loading: commands that do not need @kiln/builder, or zod and yaml behind
// @kiln/spec's main entry, must not load them. A loader hook lists every module the built binary loads.
const tmp = mkdtempSync(join(tmpdir(), "kiln-startup-"));
const hooks = join(tmp, "hooks.mjs");
writeFileSync(
  hooks,
  "export async function resolve(s, c, next) { const r = await next(s, c); " +
    'if (!r.url.startsWith("node:")) process.stderr.write("LOADED " + r.url + "\\n"); return r; }\n',
);
const register = join(tmp, "register.mjs");
writeFileSync(
  register,
  `import { register } from "node:module"; register(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
);

function loaded(args: string[]): { code: number | null; modules: string[]; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ["--import", register, join(REPO_ROOT, "packages/cli/dist/main.js"), ...args],
    {
      cwd: tmp,
      encoding: "utf8",
      input: "",
    },
  );
  const modules = r.stderr
    .split("\n")
    .filter((l) => l.startsWith("LOADED "))
    .map((l) => l.slice("LOADED ".length));
  return { code: r.status, modules, stderr: r.stderr };
}

const heavy = (modules: string[]) =>
  modules.filter((m) =>
    /\/packages\/builder\/|\/node_modules\/(zod|yaml|tar-stream|p-limit)\/|\/packages\/spec\/dist\/index\.js$/.test(
      m,
    ),
  );

describe("kiln start-up", () => {
  test("--version and --help load neither @kiln/builder nor zod and yaml", () => {
    for (const args of [["--version"], ["--help"], ["cache", "--help"]]) {
      const r = loaded(args);
      expect(r.code).toBe(0);
      expect(r.modules.some((m) => m.endsWith("/packages/cli/dist/main.js"))).toBe(true);
      expect(heavy(r.modules)).toEqual([]);
    }
  });

  test("kiln run reaches the runner without them, and its errors still print as kiln errors", () => {
    const r = loaded(["run", join(tmp, "missing")]);
    expect(r.modules.some((m) => m.includes("/packages/runner/dist/"))).toBe(true);
    expect(heavy(r.modules)).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`kiln: error: ${join(tmp, "missing")}: no such file`);
    expect(r.stderr).not.toContain("internal error");
  });

  test("a command that needs the spec's loader still gets it, and its SpecError is caught as one", () => {
    const bad = join(tmp, "bad.yml");
    writeFileSync(bad, "kernel:\n  image: linuxkit/kernel:6.6.13\n  cmdline: 3\n");
    const r = loaded(["validate", bad]);
    expect(r.modules.some((m) => m.endsWith("/packages/spec/dist/index.js"))).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yml:3:\d+: kernel\.cmdline: /);
    expect(r.stderr).toContain("problem");
  });

  test("the light and the main entry of @kiln/spec export the same error classes", () => {
    expect(KilnError).toBe(FromIndex);
    expect(SpecError).toBe(SpecFromIndex);
  });
});
