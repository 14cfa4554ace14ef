import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test, vi } from "vitest";
import { isRegularFile, quickTarget } from "./build-quick.js";

// The quick key is the half of the no-op fast path that the command line decides: anything that can change
// what a build makes must change it (and so find no record); what only changes how it talks must not.

const YAML = "init:\n  - example.com/kiln/init:1\n";
const base = { size: "1024M", compression: "gzip", builder: "native", format: ["kernel+initrd"] };
const key = (files = ["a.yml"], texts = [YAML], options: Record<string, unknown> = base) =>
  quickTarget(files, texts, options)?.key;

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("quickTarget", () => {
  test("is the same for the same command", () => {
    expect(key()).toMatch(/^[0-9a-f]{64}$/);
    expect(key()).toBe(key());
    expect(key(["a.yml"], [YAML], { ...base })).toBe(key());
  });

  test.each<[string, () => string | undefined]>([
    ["a byte of the YAML", () => key(["a.yml"], [`${YAML} `])],
    ["the YAML's path", () => key(["b/a.yml"])],
    ["another YAML file", () => key(["a.yml", "b.yml"], [YAML, YAML])],
    ["the formats", () => key(undefined, undefined, { ...base, format: ["tar"] })],
    ["--name", () => key(undefined, undefined, { ...base, name: "x" })],
    ["--dir", () => key(undefined, undefined, { ...base, dir: "out" })],
    ["-o FILE", () => key(undefined, undefined, { ...base, output: "x.tar" })],
    ["--size", () => key(undefined, undefined, { ...base, size: "2G" })],
    ["--compression", () => key(undefined, undefined, { ...base, compression: "xz" })],
    ["--arch", () => key(undefined, undefined, { ...base, arch: "arm64" })],
    ["--builder", () => key(undefined, undefined, { ...base, builder: "container" })],
    ["--cache", () => key(undefined, undefined, { ...base, cache: "/elsewhere" })],
    ["--mirror", () => key(undefined, undefined, { ...base, mirror: ["docker.io=http://127.0.0.1:1"] })],
    [
      "SOURCE_DATE_EPOCH",
      () => {
        vi.stubEnv("SOURCE_DATE_EPOCH", "1700000000");
        return key();
      },
    ],
    [
      "KILN_CACHE",
      () => {
        vi.stubEnv("KILN_CACHE", "/tmp/another-kiln-cache");
        return key();
      },
    ],
    [
      "PATH (which go and apt a package tag asks)",
      () => {
        vi.stubEnv("PATH", "/nowhere");
        return key();
      },
    ],
  ])("changes with %s", (_what, changed) => {
    const before = key();
    expect(changed()).not.toBe(before);
  });

  test("changes with the working directory (relative paths resolve against it)", () => {
    const before = key();
    const cwd = process.cwd();
    try {
      process.chdir("/");
      expect(key()).not.toBe(before);
    } finally {
      process.chdir(cwd);
    }
  });

  test("ignores -q, --force and --pull: they change how a build runs, not what it makes", () => {
    expect(key(undefined, undefined, { ...base, quiet: true, force: true, pull: true })).toBe(key());
  });

  test.each([
    ["standard input", ["-"], base],
    ["-o -", ["a.yml"], { ...base, output: "-" }],
    ["--docker", ["a.yml"], { ...base, docker: true }],
    ["--dry-run", ["a.yml"], { ...base, dryRun: true }],
  ])("is never recorded nor answered for %s", (_what, files, options) => {
    expect(quickTarget(files, [YAML], options)).toBeUndefined();
  });
});

describe("isRegularFile", () => {
  test("a pipe (as `<(...)` gives) is not one, so a build of it is neither answered nor recorded", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kiln-quick-fifo-"));
    try {
      const fifo = join(dir, "app.yml");
      execFileSync("mkfifo", [fifo]);
      writeFileSync(join(dir, "plain.yml"), YAML);
      expect(isRegularFile(fifo)).toBe(false);
      expect(isRegularFile(join(dir, "plain.yml"))).toBe(true);
      expect(isRegularFile(join(dir, "missing.yml"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
