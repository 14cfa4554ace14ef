import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { OciCache } from "@kiln/builder";
import { APP_IMAGE, INIT_IMAGE, putImage } from "@kiln/builder/testing";
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

function loaded(args: string[]): { code: number | null; modules: string[]; stderr: string; log: string } {
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
  const log = r.stderr
    .split("\n")
    .filter((l) => !l.startsWith("LOADED "))
    .join("\n");
  return { code: r.status, modules, stderr: r.stderr, log };
}

const heavy = (modules: string[]) =>
  modules.filter((m) =>
    /\/packages\/builder\/|\/node_modules\/(zod|yaml|tar-stream|p-limit)\/|\/packages\/spec\/dist\/index\.js$/.test(
      m,
    ),
  );

/** The light entry a no-op answers from, and the few node-only modules it imports. */
const NOOP_ENTRY = /\/packages\/builder\/dist\/build\/quick-noop\.js$/;
const noopModules = (modules: string[]) =>
  modules.filter((m) =>
    /\/packages\/builder\/dist\/(build\/(quick-noop|incremental)|cache\/(atomic|file-sha256)|oci\/types)\.js$/.test(
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

  test("an unchanged kiln build is answered from its record without loading the builder, zod or yaml", async () => {
    const cache = await OciCache.open(join(tmp, "cache"));
    await putImage(cache, "example.com/kiln/init:1", INIT_IMAGE);
    await putImage(cache, "example.com/kiln/app:1", APP_IMAGE);
    const yml = join(tmp, "noop.yml");
    writeFileSync(
      yml,
      "init:\n  - example.com/kiln/init:1\nservices:\n  - name: app\n    image: example.com/kiln/app:1\n" +
        "files:\n  - path: etc/app.conf\n    source: app.conf\n",
    );
    writeFileSync(join(tmp, "app.conf"), "setting=1\n");
    mkdirSync(join(tmp, "out"));
    const args = ["build", "--cache", join(tmp, "cache"), "--dir", join(tmp, "out"), "-f", "tar", yml];
    const first = loaded(args);
    expect(first.code).toBe(0);
    expect(first.log).toMatch(/kiln: built in [\d.]+ s:/);

    // A record is trusted only for inputs older than the command by two seconds (see quick-record.ts):
    // until then the full path answers, and records once they are.
    const same = (log: string) => log.replace(/checked in \d+ ms/, "checked in N ms");
    let fast: ReturnType<typeof loaded> | undefined;
    for (let i = 0; i < 40 && !fast; i++) {
      const r = loaded(args);
      expect(r.code).toBe(0);
      expect(r.log).toMatch(/kiln: up to date \(checked in \d+ ms\):\n {2}.*\/out\/noop\.tar \(/);
      if (
        r.modules.some((m) => NOOP_ENTRY.test(m)) &&
        heavy(r.modules).length === noopModules(r.modules).length
      )
        fast = r;
      else await new Promise((done) => setTimeout(done, 250));
    }
    expect(fast).toBeDefined();
    expect(heavy(fast!.modules).filter((m) => !noopModules([m]).length)).toEqual([]);
    expect(fast!.modules.some((m) => m.endsWith("/commands/build-action.js"))).toBe(false);
    // It says what the full path says when nothing changed (the full path answers without the record).
    rmSync(join(tmp, "cache", "builds", "quick"), { recursive: true, force: true });
    const full = loaded(args);
    expect(full.modules.some((m) => m.endsWith("/commands/build-action.js"))).toBe(true);
    expect(same(fast!.log)).toBe(same(full.log));
    const quiet = loaded([...args.slice(0, -1), "-q", yml]);
    expect(quiet).toMatchObject({ code: 0, log: "" });
    expect(quiet.modules.some((m) => m.endsWith("/commands/build-action.js"))).toBe(false);

    // --force, and any change to an input, go the full way.
    const forced = loaded([...args.slice(0, -1), "--force", yml]);
    expect(forced.modules.some((m) => m.endsWith("/commands/build-action.js"))).toBe(true);
    expect(forced.log).toMatch(/kiln: built in/);
    writeFileSync(join(tmp, "app.conf"), "setting=2\n");
    const changed = loaded(args);
    expect(changed.log).toMatch(/kiln: built in/);
  }, 60_000);

  test("the light and the main entry of @kiln/spec export the same error classes", () => {
    expect(KilnError).toBe(FromIndex);
    expect(SpecError).toBe(SpecFromIndex);
  });
});
